import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HostError, describeError } from '../core/host-error.js';
import { PACKAGE_ROOT, PACKAGE_ROOT_URL } from '../core/package-root.js';
import { type PluginCatalogEntry, type PluginDescriptor, type PluginKind, apiVersionProblem, descriptorProblems, loadCatalogEntry } from '../core/plugin-descriptor.js';
import { closestNames } from './closest-names.js';

/** Where sonarhost itself is installed: the last place a package name is looked up. */
const OWN_FOLDER = PACKAGE_ROOT;
/** The root of this sonarhost install: a module below it is built with this host, so its version is ours. */
const OWN_ROOT = PACKAGE_ROOT_URL.href;

/** A folder package names are resolved from, and why it is on the list (for error messages). */
export interface PluginBase {
  folder: string;
  label: string;
}

/**
 * The folders a package-name plugin is resolved from, in order: the config file's folder (where a user
 * keeps the config, its package.json usually sits), the working folder, then sonarhost's own install.
 */
export function pluginBases(configDir: string | undefined, cwd: string): PluginBase[] {
  const bases: PluginBase[] = [];
  if (configDir !== undefined) bases.push({ folder: configDir, label: "the config file's folder" });
  bases.push({ folder: cwd, label: 'the working folder' }, { folder: OWN_FOLDER, label: "sonarhost's own install" });
  return bases.filter((b, i) => bases.findIndex((o) => o.folder === b.folder) === i);
}

/**
 * Turns a config entry into a plugin descriptor: a built-in id, a path, or an installed package (bare,
 * scoped or a sub-path) whose `default` or `plugin` export is a descriptor. Every failure is an error
 * that says which entry, what was wrong and what to do.
 */
export async function resolvePlugin(
  specifier: string,
  expectedKind: PluginKind,
  configKey: string,
  catalog: readonly PluginCatalogEntry[],
  bases: readonly PluginBase[] = pluginBases(undefined, process.cwd()),
  /** Told each module file right before it is imported (and so runs). */
  beforeImport: (file: string) => void = () => undefined,
): Promise<PluginDescriptor> {
  const builtin = catalog.find((p) => p.id === specifier);
  if (builtin) {
    checkKind(builtin, expectedKind, configKey, specifier);
    return loadCatalogEntry(builtin);
  }

  const url = locateModule(specifier, expectedKind, configKey, catalog, bases);
  let exports: Record<string, unknown>;
  beforeImport(fileURLToPath(url));
  try {
    exports = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new HostError('plugin-invalid', `${configKey}: cannot load plugin module "${specifier}" (${fileURLToPath(url)}): ${describeError(error)}`, { cause: error });
  }
  const candidate = descriptorExport(exports);
  const problems = descriptorProblems(candidate);
  if (problems.length > 0) {
    throw new HostError(
      'plugin-invalid',
      `${configKey}: "${specifier}" does not export a valid plugin descriptor (as \`default\` or \`plugin\`): ${problems.join('; ')}. ` +
        "A plugin exports definePlugin({ id, kind, description, module: new ContainerModule(...), requires? }) from 'sonarhost/plugin-api'.",
    );
  }
  const plugin = candidate as PluginDescriptor;
  const ownModule = url.startsWith(OWN_ROOT) && !url.slice(OWN_ROOT.length).includes('node_modules/');
  const versionProblem = ownModule && plugin.apiVersion === undefined ? undefined : apiVersionProblem(plugin.apiVersion);
  if (versionProblem) throw new HostError('plugin-invalid', `${configKey}: plugin "${plugin.id}" ("${specifier}") cannot be loaded: ${versionProblem}.`);
  return checkKind(plugin, expectedKind, configKey, specifier);
}

function descriptorExport(exports: Record<string, unknown>): unknown {
  const candidate = exports.default ?? exports.plugin;
  // A CommonJS plugin compiled from TypeScript arrives as { default: { default: descriptor } }.
  if (descriptorProblems(candidate).length > 0 && typeof candidate === 'object' && candidate !== null) {
    const inner = (candidate as Record<string, unknown>).default ?? (candidate as Record<string, unknown>).plugin;
    if (inner !== undefined && descriptorProblems(inner).length === 0) return inner;
  }
  return candidate;
}

function locateModule(specifier: string, kind: PluginKind, configKey: string, catalog: readonly PluginCatalogEntry[], bases: readonly PluginBase[]): string {
  if (isAbsolute(specifier) || specifier.startsWith('./') || specifier.startsWith('../')) {
    const file = resolve(bases[0]!.folder, specifier);
    if (!existsSync(file)) throw new HostError('plugin-invalid', `${configKey}: cannot load plugin module "${specifier}": ${file} does not exist.`);
    return pathToFileURL(file).href;
  }
  const looked: string[] = [];
  const seen = new Set<string>();
  for (const base of bases) {
    const require = createRequire(join(base.folder, 'noop.js'));
    try {
      return pathToFileURL(require.resolve(specifier)).href;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Found but unusable (its package.json does not export that path): say so instead of looking on.
      if (code !== 'MODULE_NOT_FOUND') {
        throw new HostError('plugin-invalid', `${configKey}: package "${specifier}" was found from ${base.label} (${base.folder}) but cannot be resolved: ${describeError(error)}`, { cause: error });
      }
      const folders = (require.resolve.paths(specifier) ?? []).filter((f) => f.endsWith('node_modules') && !seen.has(f));
      folders.forEach((f) => seen.add(f));
      if (folders.length > 0) looked.push(`from ${base.label}: ${folders.join(', ')}`);
    }
  }
  const ids = catalog.filter((p) => p.kind === kind).map((p) => p.id);
  const near = closestNames(specifier, [...ids, ...[...seen].flatMap(installedPackages)]);
  throw new HostError(
    'config-invalid',
    `${configKey}: "${specifier}" is not a built-in ${kind} plugin (${ids.length ? `built-in: ${ids.join(', ')}` : 'there is no built-in one'}) ` +
      `nor an installed package.${near.length ? ` Did you mean ${near.map((n) => `"${n}"`).join(' or ')}?` : ''} Looked for the package in ${looked.join('; ')}. ` +
      'Install it (npm install <package>) next to the config file, or use a built-in id or a path starting with ./ or /.',
  );
}

/** The package names in a node_modules folder (scoped ones as @scope/name); none when it cannot be read. */
function installedPackages(folder: string): string[] {
  try {
    return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
      if (!entry.isDirectory() && !entry.isSymbolicLink()) return [];
      if (!entry.name.startsWith('@')) return entry.name.startsWith('.') ? [] : [entry.name];
      try {
        return readdirSync(join(folder, entry.name)).map((name) => `${entry.name}/${name}`);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

function checkKind<T extends { kind: PluginKind }>(plugin: T, expected: PluginKind, configKey: string, specifier: string): T {
  if (plugin.kind !== expected) {
    throw new HostError('plugin-invalid', `${configKey}: "${specifier}" is a ${plugin.kind} plugin, but this entry takes a ${expected} plugin.`);
  }
  return plugin;
}
