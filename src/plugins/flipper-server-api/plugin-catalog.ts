import { existsSync } from 'node:fs';
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { HostError, describeError } from '../../core/host-error.js';
import { type Logger } from '../../core/logger.js';
import { type FlipperPlugins } from './flipper-plugin-source.js';
import { type FlipperUiInstall } from './flipper-ui-install.js';

/** The package.json `$schema` of a plugin built for Flipper's plugin loader (a bundle in `main`). */
const SPEC_V2_SCHEMA = 'https://fbflipper.com/schemas/plugin-package/v2.json';
/** The largest plugin bundle plugin-source sends (the biggest default one is under 2 MB). */
export const MAX_PLUGIN_SOURCE_BYTES = 32 * 1024 * 1024;

/** What Flipper's UI knows a plugin by (`InstalledPluginDetails`), as flipper-server 0.162 sends it. */
export type InstalledPluginDetails = Record<string, unknown> & { id: string; name: string; entry: string; dir: string };

/**
 * The plugins Flipper's UI can load: the bundles shipped in the UI package (`static/defaultPlugins/*`)
 * and `flipper-plugin-*` packages the user installed in a search folder's node_modules (an installed
 * one replaces a default one with the same id). Each is described the way flipper-server 0.162 does,
 * field for field. `source` reads only an entry this catalog listed, inside its plugin's folder.
 */
export class FlipperPluginCatalog implements FlipperPlugins {
  /** entry path → plugin, from the last listing. */
  private listed = new Map<string, InstalledPluginDetails>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly install: FlipperUiInstall,
    private readonly log: Logger,
  ) {}

  async dynamicPlugins(): Promise<unknown[]> {
    const installed = await this.installed();
    const taken = new Set(installed.flatMap((p) => [p.id, p.name]));
    const defaults = (await this.defaults()).filter((p) => !taken.has(p.id) && !taken.has(p.name));
    const all = [...installed, ...defaults];
    this.listed = new Map(all.map((p) => [p.entry, p]));
    return all;
  }

  async installedPlugins(): Promise<unknown[]> {
    return this.installed();
  }

  async source(entry: string): Promise<string> {
    if (typeof entry !== 'string') throw new HostError('protocol-invalid', 'plugin-source takes the entry path of a plugin that plugins-load-dynamic-plugins listed.');
    if (!this.listed.has(entry)) await this.dynamicPlugins(); // installed since the UI last asked
    const plugin = this.listed.get(entry);
    if (!plugin) {
      throw new HostError('device-not-found', `No Flipper plugin is installed with the entry ${JSON.stringify(entry.slice(0, 200))}; plugin-source serves only the bundles plugins-load-dynamic-plugins listed.`);
    }
    const info = await stat(entry).catch((error: unknown) => {
      throw new HostError('device-not-found', `The bundle of Flipper plugin "${plugin.id}" is missing (${entry}): ${describeError(error)}. Reinstall the plugin.`, { cause: error });
    });
    if (info.size > MAX_PLUGIN_SOURCE_BYTES) {
      throw new HostError('protocol-invalid', `The bundle of Flipper plugin "${plugin.id}" is ${info.size} bytes, over the ${MAX_PLUGIN_SOURCE_BYTES} bytes sonarhost sends to the UI.`);
    }
    // The bundle itself may be a symlink: what it points at must still lie in the plugin's folder.
    const real = await realpath(entry).catch(() => entry);
    if (!real.startsWith(plugin.dir + sep)) throw new HostError('device-not-found', `The bundle of Flipper plugin "${plugin.id}" points outside its folder (${real}); it is not served.`);
    return readFile(real, 'utf8');
  }

  private async defaults(): Promise<InstalledPluginDetails[]> {
    const staticDir = this.install.locate()?.staticDir;
    if (staticDir === undefined) return [];
    const root = join(staticDir, 'defaultPlugins');
    const names = await readdir(root).catch(() => [] as string[]);
    const plugins = await Promise.all(names.sort().map((name) => this.read(join(root, name))));
    return plugins.filter((p): p is InstalledPluginDetails => p !== undefined);
  }

  /** flipper-plugin-* packages (scoped ones too) in the search folders' node_modules; the first folder wins. */
  private async installed(): Promise<InstalledPluginDetails[]> {
    const found: InstalledPluginDetails[] = [];
    for (const modules of this.install.pluginFolders()) {
      for (const dir of await pluginPackageDirs(modules)) {
        const plugin = await this.read(dir);
        if (plugin && !found.some((p) => p.id === plugin.id || p.name === plugin.name)) found.push(plugin);
      }
    }
    return found;
  }

  private async read(dir: string): Promise<InstalledPluginDetails | undefined> {
    let pkg: Record<string, unknown>;
    try {
      pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined; // not a package (bundled.json, a stray folder)
    }
    if (pkg.$schema !== SPEC_V2_SCHEMA || typeof pkg.name !== 'string' || typeof pkg.main !== 'string') {
      // Libraries named flipper-plugin-* (no keyword) are not plugins; a plugin in the old source form needs bundling.
      if (Array.isArray(pkg.keywords) && pkg.keywords.includes('flipper-plugin')) this.warnOnce(dir, `${dir} is not a bundled Flipper plugin (its package.json needs "$schema": "${SPEC_V2_SCHEMA}" and a "main" bundle); Flipper's UI will not list it.`);
      return undefined;
    }
    const realDir = await realpath(dir).catch(() => dir);
    const entry = resolve(realDir, pkg.main);
    if (!entry.startsWith(realDir + sep)) {
      this.warnOnce(dir, `Flipper plugin ${pkg.name} names a "main" outside its own folder (${pkg.main}); it is not listed.`);
      return undefined;
    }
    return pluginDetails(pkg, realDir, entry);
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(message);
  }
}

/**
 * flipper-server 0.162's description of a spec-v2 plugin package: the package's own fields, under the
 * names the UI reads, then where it is. Fields the package does not set are left out, as there.
 */
export function pluginDetails(pkg: Record<string, unknown>, dir: string, entry: string): InstalledPluginDetails {
  const name = pkg.name as string;
  const id = typeof pkg.id === 'string' ? pkg.id : name;
  const peer = pkg.peerDependencies as Record<string, unknown> | undefined;
  const details: Record<string, unknown> = {
    specVersion: 2,
    name,
    version: pkg.version,
    main: pkg.main,
    serverAddOn: pkg.serverAddOn,
    source: pkg.flipperBundlerEntry,
    serverAddOnSource: pkg.flipperBundlerEntryServerAddOn,
    id,
    gatekeeper: pkg.gatekeeper,
    icon: pkg.icon,
    title: pkg.title || id,
    description: pkg.description,
    category: pkg.category,
    bugs: pkg.bugs,
    flipperSDKVersion: typeof peer === 'object' && peer !== null ? peer['flipper-plugin'] : undefined,
    pluginType: pkg.pluginType,
    supportedDevices: pkg.supportedDevices,
    supportedApps: pkg.supportedApps,
    engines: pkg.engines,
    publishedDocs: pkg.publishedDocs,
    headless: pkg.headless,
    isBundled: false,
    isActivatable: existsSync(entry),
    dir,
    entry,
    serverAddOnEntry: typeof pkg.serverAddOn === 'string' ? join(dir, pkg.serverAddOn) : undefined,
  };
  for (const key of Object.keys(details)) if (details[key] === undefined) delete details[key];
  return details as InstalledPluginDetails;
}

async function pluginPackageDirs(modules: string): Promise<string[]> {
  const names = await readdir(modules).catch(() => [] as string[]);
  const dirs: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('flipper-plugin-')) dirs.push(join(modules, name));
    else if (name.startsWith('@')) {
      for (const scoped of (await readdir(join(modules, name)).catch(() => [] as string[])).sort()) {
        if (scoped.startsWith('flipper-plugin-')) dirs.push(join(modules, name, scoped));
      }
    }
  }
  return dirs;
}
