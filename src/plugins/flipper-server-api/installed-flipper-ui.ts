import type * as http from 'node:http';
import { inject, injectable, optional } from 'inversify';
import { HostConfig } from '../../core/host-config.js';
import { Logger } from '../../core/logger.js';
import { type FlipperPlugins, type FlipperUiFiles } from './flipper-plugin-source.js';
import { StaticFlipperUiFiles } from './flipper-ui-files.js';
import { FlipperUiInstall, type UiFolder, flipperUiFolders } from './flipper-ui-install.js';
import { FlipperPluginCatalog } from './plugin-catalog.js';

/** For tests and embedders: the folders searched for the UI package instead of flipperUiFolders(config). */
export const FlipperUiFolders = Symbol('FlipperUiFolders');

/**
 * Flipper's UI as installed for this host: its files and its plugins, both found through the same
 * search folders (see flipperUiFolders). Nothing is read until the UI or a command asks.
 */
@injectable()
export class InstalledFlipperUi implements FlipperPlugins, FlipperUiFiles {
  readonly files: StaticFlipperUiFiles;
  readonly plugins: FlipperPluginCatalog;

  constructor(
    @inject(HostConfig) config: Pick<HostConfig, 'certDir' | 'configDir'>,
    @inject(Logger) logger: Logger,
    @inject(FlipperUiFolders) @optional() folders?: readonly UiFolder[],
  ) {
    const log = logger.child('flipper-ui');
    const install = new FlipperUiInstall(folders ?? flipperUiFolders(config), config.certDir, log);
    this.files = new StaticFlipperUiFiles(install);
    this.plugins = new FlipperPluginCatalog(install, log);
  }

  get missing(): string | undefined {
    return this.files.missing;
  }

  get staticDir(): string | undefined {
    return this.files.staticDir;
  }

  serve(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<boolean> {
    return this.files.serve(req, res, pathname);
  }

  dynamicPlugins(): Promise<unknown[]> {
    return this.plugins.dynamicPlugins();
  }

  installedPlugins(): Promise<unknown[]> {
    return this.plugins.installedPlugins();
  }

  source(entry: string): Promise<string> {
    return this.plugins.source(entry);
  }
}
