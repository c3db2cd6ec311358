import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HostError, describeError } from '../core/host-error.js';
import { type PluginDescriptor, type PluginKind, descriptorProblems } from '../core/plugin-descriptor.js';

/**
 * Turns a config entry into a plugin descriptor: a built-in id, or a module (absolute path or package
 * name) whose `default` or `plugin` export is a descriptor. Every failure is a config error that says
 * which entry, what was wrong and what a plugin module must export.
 */
export async function resolvePlugin(
  specifier: string,
  expectedKind: PluginKind,
  configKey: string,
  catalog: readonly PluginDescriptor[],
  cwd = process.cwd(),
): Promise<PluginDescriptor> {
  const builtin = catalog.find((p) => p.id === specifier);
  if (builtin) return checkKind(builtin, expectedKind, configKey, specifier);

  if (!isAbsolute(specifier) && !looksLikePackage(specifier)) {
    const ids = catalog.filter((p) => p.kind === expectedKind).map((p) => p.id);
    throw new HostError(
      'config-invalid',
      `${configKey}: "${specifier}" is not a built-in ${expectedKind} plugin (${ids.length ? `built-in: ${ids.join(', ')}` : 'there is no built-in one'}) ` +
        'nor a module path. Use a built-in id, a path starting with ./ or /, or an installed package name.',
    );
  }

  let exports: Record<string, unknown>;
  try {
    exports = (await import(moduleUrl(specifier, cwd))) as Record<string, unknown>;
  } catch (error) {
    throw new HostError('plugin-invalid', `${configKey}: cannot load plugin module "${specifier}": ${describeError(error)}`, { cause: error });
  }
  const candidate = exports.default ?? exports.plugin;
  const problems = descriptorProblems(candidate);
  if (problems.length > 0) {
    throw new HostError(
      'plugin-invalid',
      `${configKey}: "${specifier}" does not export a valid plugin descriptor (as \`default\` or \`plugin\`): ${problems.join('; ')}. ` +
        'A plugin exports { id, kind, description, module: new ContainerModule(...), requires? }.',
    );
  }
  return checkKind(candidate as PluginDescriptor, expectedKind, configKey, specifier);
}

function checkKind(plugin: PluginDescriptor, expected: PluginKind, configKey: string, specifier: string): PluginDescriptor {
  if (plugin.kind !== expected) {
    throw new HostError('plugin-invalid', `${configKey}: "${specifier}" is a ${plugin.kind} plugin, but this entry takes a ${expected} plugin.`);
  }
  return plugin;
}

function looksLikePackage(specifier: string): boolean {
  // Built-in ids are plain words; packages are scoped (@scope/name) or name a sub-path (name/sub).
  return specifier.startsWith('@') || specifier.includes('/');
}

function moduleUrl(specifier: string, cwd: string): string {
  if (isAbsolute(specifier)) return pathToFileURL(specifier).href;
  try {
    // Resolve packages from the user's project first, then from sonarhost's own dependencies.
    return pathToFileURL(createRequire(join(cwd, 'noop.js')).resolve(specifier)).href;
  } catch {
    return specifier;
  }
}
