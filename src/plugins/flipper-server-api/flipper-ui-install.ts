import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type Logger } from '../../core/logger.js';
import { PACKAGE_ROOT } from '../../core/package-root.js';

/** The npm package that ships Flipper's browser UI and its plugin bundles; 0.162.0 is the last one on npm. */
export const FLIPPER_UI_PACKAGE = 'flipper-server';
export const FLIPPER_UI_VERSION = '0.162.0';
/** Inside the certificate folder: where `npm install --prefix` puts the UI (and flipper-plugin-* packages) by default. */
export const FLIPPER_UI_FOLDER = 'flipper-ui';

/** sonarhost's own install root. */
const OWN_ROOT = PACKAGE_ROOT;

/** A folder whose `node_modules` may hold the UI package and flipper-plugin-* packages, and why it is searched. */
export interface UiFolder {
  folder: string;
  label: string;
}

export interface FoundFlipperUi {
  /** The flipper-server package folder. */
  packageDir: string;
  /** Its `static/` folder (index.web.html, bundle.js, defaultPlugins/), symlinks resolved. */
  staticDir: string;
  version: string;
  /** Which search folder it came from. */
  from: string;
}

/**
 * The folders searched, in order: the config file's folder (as for plugins named by package), the
 * default install folder `<certDir>/flipper-ui`, then sonarhost's own install. The first holds it wins.
 */
export function flipperUiFolders(config: { certDir: string; configDir?: string }): UiFolder[] {
  const folders: UiFolder[] = [];
  if (config.configDir !== undefined) folders.push({ folder: config.configDir, label: "the config file's folder" });
  folders.push({ folder: join(config.certDir, FLIPPER_UI_FOLDER), label: 'the default UI folder' });
  folders.push({ folder: OWN_ROOT, label: "sonarhost's own install" });
  // sonarhost installed as a dependency: its sibling packages sit in the node_modules that holds it.
  if (basename(dirname(OWN_ROOT.replace(/[/\\]$/, ''))) === 'node_modules') folders.push({ folder: dirname(dirname(OWN_ROOT.replace(/[/\\]$/, ''))), label: "the project sonarhost is installed in" });
  return folders.filter((f, i) => folders.findIndex((o) => o.folder === f.folder) === i);
}

/** The command a user runs to install the UI where sonarhost looks for it by default. */
export function installCommand(certDir: string): string {
  return `npm install --prefix "${join(certDir, FLIPPER_UI_FOLDER)}" ${FLIPPER_UI_PACKAGE}@${FLIPPER_UI_VERSION}`;
}

/**
 * Finds Flipper's UI package in the search folders. Until found it looks again on every call (a user
 * may install it while the host runs); once found, the answer is kept. A version other than 0.162.x is
 * used but warned about once: its UI protocol (plugin-source's shape, tokens) may differ.
 */
export class FlipperUiInstall {
  private found: FoundFlipperUi | undefined;

  constructor(
    readonly folders: readonly UiFolder[],
    private readonly certDir: string,
    private readonly log: Logger,
  ) {}

  locate(): FoundFlipperUi | undefined {
    if (this.found) return this.found;
    for (const { folder, label } of this.folders) {
      const packageDir = join(folder, 'node_modules', FLIPPER_UI_PACKAGE);
      const found = readUiPackage(packageDir, label);
      if (!found) continue;
      if (!/^0\.162\./.test(found.version)) {
        this.log.warn(`Flipper's UI package is version ${found.version}; sonarhost is made for ${FLIPPER_UI_VERSION} and a different UI may not work. Install that one: ${installCommand(this.certDir)}`, { packageDir });
      }
      this.log.info("Flipper's UI found", { packageDir: found.packageDir, version: found.version, from: label });
      this.found = found;
      return found;
    }
    return undefined;
  }

  /** One line for a browser that asks for the UI when it is not installed: what to run. */
  get missing(): string | undefined {
    if (this.locate()) return undefined;
    return `Flipper's UI is not installed: run ${installCommand(this.certDir)} (or install ${FLIPPER_UI_PACKAGE}@${FLIPPER_UI_VERSION} next to the config file), then reload this page.`;
  }

  /** The node_modules folders flipper-plugin-* packages are looked for in, in search order. */
  pluginFolders(): string[] {
    return this.folders.map((f) => join(f.folder, 'node_modules')).filter((f) => existsSync(f));
  }
}

function readUiPackage(packageDir: string, from: string): FoundFlipperUi | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name !== FLIPPER_UI_PACKAGE || typeof pkg.version !== 'string') return undefined;
    const staticDir = realpathSync(join(packageDir, 'static'));
    if (!existsSync(join(staticDir, 'index.web.html'))) return undefined;
    return { packageDir: realpathSync(packageDir), staticDir, version: pkg.version, from };
  } catch {
    return undefined;
  }
}
