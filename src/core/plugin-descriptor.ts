import { type ContainerModule } from 'inversify';

/**
 * What a plugin module exports (as `default` or `plugin`). Built-in plugins and user plugins loaded
 * from a path or package use the same shape, so users extend the host without forking it.
 */
export type PluginKind = 'certificate-store' | 'exchange' | 'transport' | 'device-transport' | 'connection-handler' | 'service';

export const PLUGIN_KINDS: readonly PluginKind[] = ['certificate-store', 'exchange', 'transport', 'device-transport', 'connection-handler', 'service'];

export interface PluginDescriptor {
  /** Stable id, kebab-case, e.g. `file-certificate-store`, `android`. */
  id: string;
  kind: PluginKind;
  description: string;
  /** Binds the plugin's services; does no I/O and reads no config while loading. */
  module: ContainerModule;
  /** Service identifiers this plugin needs from the host or other plugins (checked at composition). */
  requires?: readonly symbol[];
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
  if (d.requires !== undefined && (!Array.isArray(d.requires) || d.requires.some((r) => typeof r !== 'symbol'))) problems.push('`requires` must be an array of symbols');
  return problems;
}
