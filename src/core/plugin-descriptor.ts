import { type ContainerModule } from 'inversify';

/**
 * What a plugin module exports (as `default` or `plugin`). Built-in plugins and user plugins loaded
 * from a path or package use the same shape, so users extend the host without forking it.
 */
export type PluginKind = 'certificate-store' | 'exchange' | 'transport' | 'device-transport' | 'connection-handler' | 'service';

export const PLUGIN_KINDS: readonly PluginKind[] = ['certificate-store', 'exchange', 'transport', 'device-transport', 'connection-handler', 'service'];

/**
 * The version of the contract between the host and its plugins (tokens, interfaces, descriptor shape),
 * `major.minor`. A new major breaks plugins (a changed interface, a new inversify major); a new minor
 * only adds. The host loads a plugin built against the same major and a minor not newer than its own.
 */
export const PLUGIN_API_VERSION = '1.0';

export interface PluginDescriptor {
  /** Stable id, kebab-case, e.g. `file-certificate-store`, `android`. */
  id: string;
  kind: PluginKind;
  description: string;
  /** The PLUGIN_API_VERSION the plugin was built against; `definePlugin` fills it in. */
  apiVersion?: string;
  /** Binds the plugin's services; does no I/O and reads no config while loading. */
  module: ContainerModule;
  /** Service identifiers this plugin needs from the host or other plugins (checked at composition). */
  requires?: readonly symbol[];
}

/**
 * A plugin the catalog knows by id and kind, imported only when a config selects it: the built-ins
 * are listed this way, so a host does not load (say) adb's client when its config has no Android.
 */
export interface LazyPluginDescriptor {
  id: string;
  kind: PluginKind;
  /** Imports the plugin's module and returns its descriptor (same id and kind). */
  load(): Promise<PluginDescriptor>;
}

/** What a plugin catalog holds: descriptors, or lazy entries that load one. */
export type PluginCatalogEntry = PluginDescriptor | LazyPluginDescriptor;

/** The descriptor behind a catalog entry, importing its module if it is lazy. */
export async function loadCatalogEntry(entry: PluginCatalogEntry): Promise<PluginDescriptor> {
  if (!('load' in entry)) return entry;
  const descriptor = await entry.load();
  if (descriptor.id !== entry.id || descriptor.kind !== entry.kind) {
    throw new Error(`the catalog lists ${entry.kind} plugin "${entry.id}", but its module describes ${descriptor.kind} plugin "${descriptor.id}"`);
  }
  return descriptor;
}

/** Stamps a descriptor with the plugin API version it is compiled against; what plugins export. */
export function definePlugin(descriptor: Omit<PluginDescriptor, 'apiVersion'>): PluginDescriptor {
  return { ...descriptor, apiVersion: PLUGIN_API_VERSION };
}

/** Why a plugin built against `apiVersion` cannot run in this host, or undefined when it can. */
export function apiVersionProblem(apiVersion: string | undefined): string | undefined {
  if (apiVersion === undefined) return `it does not say which plugin API it was built against (this host has ${PLUGIN_API_VERSION}); export definePlugin({...}) from 'sonarhost/plugin-api'`;
  const [major, minor] = apiVersion.split('.').map(Number);
  const [hostMajor, hostMinor] = PLUGIN_API_VERSION.split('.').map(Number);
  if (major !== hostMajor) return `it was built against plugin API ${apiVersion}, but this host has plugin API ${PLUGIN_API_VERSION}; rebuild it against a sonarhost with plugin API ${hostMajor}.x`;
  if (minor! > hostMinor!) return `it was built against plugin API ${apiVersion}, newer than this host's ${PLUGIN_API_VERSION}; update sonarhost`;
  return undefined;
}

/** Returns the list of problems with a candidate descriptor; empty when it is valid. */
export function descriptorProblems(candidate: unknown): string[] {
  if (typeof candidate !== 'object' || candidate === null) return ['it is not an object'];
  const d = candidate as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof d.id !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(d.id)) problems.push('`id` must be a non-empty string of letters, digits, ".", "_" or "-"');
  if (typeof d.kind !== 'string' || !PLUGIN_KINDS.includes(d.kind as PluginKind)) problems.push(`\`kind\` must be one of ${PLUGIN_KINDS.join(', ')}`);
  if (typeof d.description !== 'string') problems.push('`description` must be a string');
  // Duck-typed so a plugin compiled against its own copy of inversify 8 still loads.
  const module = d.module as { load?: unknown } | undefined;
  if (typeof module !== 'object' || module === null || typeof module.load !== 'function') problems.push('`module` must be an inversify ContainerModule');
  if (d.apiVersion !== undefined && (typeof d.apiVersion !== 'string' || !/^\d+\.\d+$/.test(d.apiVersion))) problems.push('`apiVersion` must be "major.minor"');
  if (d.requires !== undefined && (!Array.isArray(d.requires) || d.requires.some((r) => typeof r !== 'symbol'))) problems.push('`requires` must be an array of symbols');
  return problems;
}
