import { type HostConfig } from '../../core/host-config.js';
import { type Logger } from '../../core/logger.js';
import { type FlipperPlugins, type FlipperUiFiles } from './flipper-plugin-source.js';
import { StaticFlipperUiFiles } from './flipper-ui-files.js';
import { FlipperUiInstall, type UiFolder, flipperUiFolders } from './flipper-ui-install.js';
import { FlipperPluginCatalog } from './plugin-catalog.js';

export interface InstalledFlipperUi {
  files: FlipperUiFiles;
  plugins: FlipperPlugins;
}

/**
 * Flipper's UI as installed for this host: its files and its plugins, both found through the same
 * search folders (see flipperUiFolders). Nothing is read until the UI or a command asks.
 */
export function createInstalledFlipperUi(config: Pick<HostConfig, 'certDir' | 'configDir'>, logger: Logger, folders: readonly UiFolder[] = flipperUiFolders(config)): InstalledFlipperUi {
  const install = new FlipperUiInstall(folders, config.certDir, logger.child('flipper-ui'));
  return { files: new StaticFlipperUiFiles(install), plugins: new FlipperPluginCatalog(install, logger.child('flipper-ui')) };
}
