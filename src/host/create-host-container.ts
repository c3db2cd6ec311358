import { Container, type ContainerModule } from 'inversify';
import { ConnectionHandler } from '../core/connection-handler.js';
import { DeviceTransport } from '../core/device-transport.js';
import { HostAccessToken } from '../core/access-token.js';
import { AppConnector } from '../core/app-connector.js';
import { CertificateRenewal } from '../core/certificate-renewal.js';
import { HostService } from '../core/host-service.js';
import { CertificateExchange } from '../core/certificate-exchange.js';
import { CertificateStore } from '../core/certificate-store.js';
import { Clock, systemClock } from '../core/clock.js';
import { ClientRegistry } from '../core/client-registry.js';
import { ConnectionDiagnostics } from '../core/connection-diagnostics.js';
import { ConnectionGate } from '../core/connection-gate.js';
import { Host } from '../core/host.js';
import { HostConfig, type PluginSelection } from '../core/host-config.js';
import { HostError } from '../core/host-error.js';
import { HostEvents } from '../core/host-events.js';
import { EventFeed } from '../core/event-feed.js';
import { Logger, silentLogger } from '../core/logger.js';
import { type PluginCatalogEntry, type PluginDescriptor, type PluginKind } from '../core/plugin-descriptor.js';
import { BUILTIN_PLUGINS } from './builtin-plugins.js';
import { defaultConfig } from './config-sources.js';
import { checkContracts } from './contract-check.js';
import { pluginBases, resolvePlugin } from './plugin-loader.js';

export interface HostContainerOverrides {
  logger?: Logger;
  clock?: Clock;
  /** Loaded after the plugins; may `rebind` any service (tests override one provider this way). */
  modules?: ContainerModule[];
  /** Plugin catalog; defaults to the built-in plugins. */
  catalog?: readonly PluginCatalogEntry[];
  /** The working folder, second place package-name plugins are resolved from (default process.cwd()). */
  cwd?: string;
  /** The config file's folder, first place package-name plugins are resolved from. */
  configDir?: string;
  /**
   * 'skip' leaves out every plugin that is not built in (a path or a package), so no module named by the
   * config is imported: a single slot falls back to its built-in default. Default 'load'.
   */
  pluginModules?: 'load' | 'skip';
  /** Told each plugin module file right before it is imported (`start` logs them). */
  beforeImport?: (module: { configKey: string; specifier: string; file: string }) => void;
}

/** A config entry naming a plugin module (a path or a package) rather than a built-in id. */
export interface PluginModuleEntry {
  configKey: string;
  specifier: string;
}

export interface ComposedHost {
  container: Container;
  host: Host;
  plugins: PluginDescriptor[];
  /** The plugin modules left out by `pluginModules: 'skip'`. */
  skipped: PluginModuleEntry[];
}

const SLOTS: Array<[keyof PluginSelection, PluginKind]> = [
  ['certificateStore', 'certificate-store'],
  ['exchange', 'exchange'],
  ['transports', 'transport'],
  ['deviceTransports', 'device-transport'],
  ['connectionHandlers', 'connection-handler'],
  ['services', 'service'],
];

/** The contract each kind of plugin must bind. HostService is also open to every kind (device watchers). */
const SLOT_CONTRACTS: Record<PluginKind, symbol> = {
  'certificate-store': CertificateStore,
  exchange: CertificateExchange,
  transport: HostService,
  'device-transport': DeviceTransport,
  'connection-handler': ConnectionHandler,
  service: HostService,
};
const CONTRACTS = [CertificateStore, CertificateExchange, DeviceTransport, ConnectionHandler, HostService];

/**
 * The single composition root: binds the config, logger and clock, loads the plugins the config
 * selects, then the overrides. The CLI and the tests build the host through this function only.
 */
export async function createHostContainer(config: HostConfig, overrides: HostContainerOverrides = {}): Promise<ComposedHost> {
  const catalog = overrides.catalog ?? BUILTIN_PLUGINS;
  const skipped = overrides.pluginModules === 'skip' ? pluginModuleEntries(config, catalog) : [];
  const selection = skipped.length > 0 ? withoutModules(config.plugins, catalog) : config.plugins;
  const plugins = await selectPlugins(selection, catalog, overrides.configDir, overrides.cwd ?? process.cwd(), overrides.beforeImport);
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(HostConfig).toConstantValue(overrides.configDir !== undefined && config.configDir === undefined ? { ...config, configDir: overrides.configDir } : config);
  container.bind(Logger).toConstantValue(overrides.logger ?? silentLogger);
  container.bind(Clock).toConstantValue(overrides.clock ?? systemClock);
  container.bind(Host).toSelf();
  container.bind(HostEvents).toSelf();
  container.bind(HostAccessToken).toSelf();
  container.bind(EventFeed).toSelf();
  container.bind(ClientRegistry).toSelf();
  container.bind(AppConnector).toSelf();
  container.bind(ConnectionGate).toSelf();
  container.bind(CertificateRenewal).toSelf();
  container.bind(HostService).toService(CertificateRenewal);
  container.bind(ConnectionDiagnostics).toSelf();

  warnAboutUnusedPluginOptions(config, plugins, overrides.logger ?? silentLogger);
  for (const { plugin, configKey } of plugins) await checkBindings(plugin, configKey);
  await container.loadAsync(...plugins.map((p) => p.plugin.module));
  for (const { plugin } of plugins) {
    const missing = (plugin.requires ?? []).filter((id) => !container.isBound(id));
    if (missing.length > 0) {
      throw new HostError('plugin-invalid', `Plugin "${plugin.id}" needs ${missing.map(tokenName).join(', ')}, which no selected plugin provides.`);
    }
  }
  if (overrides.modules?.length) await container.loadAsync(...overrides.modules);
  checkContracts(container, plugins);
  return { container, host: container.get(Host), plugins: plugins.map((p) => p.plugin), skipped };
}

/** The entries of the config's plugin selection that name a module (a path or a package), not a built-in id. */
export function pluginModuleEntries(config: HostConfig, catalog: readonly PluginCatalogEntry[] = BUILTIN_PLUGINS): PluginModuleEntry[] {
  const entries: PluginModuleEntry[] = [];
  for (const [key] of SLOTS) {
    const value = config.plugins[key];
    const list = Array.isArray(value) ? value : [value];
    list.forEach((specifier, index) => {
      if (!catalog.some((p) => p.id === specifier)) entries.push({ configKey: Array.isArray(value) ? `plugins.${key}[${index}]` : `plugins.${key}`, specifier });
    });
  }
  return entries;
}

/** The selection with every module entry dropped; a single slot gets its built-in default back. */
function withoutModules(selection: PluginSelection, catalog: readonly PluginCatalogEntry[]): PluginSelection {
  const builtin = (specifier: string) => catalog.some((p) => p.id === specifier);
  const defaults = defaultConfig().plugins;
  return {
    certificateStore: builtin(selection.certificateStore) ? selection.certificateStore : defaults.certificateStore,
    exchange: builtin(selection.exchange) ? selection.exchange : defaults.exchange,
    transports: selection.transports.filter(builtin),
    deviceTransports: selection.deviceTransports.filter(builtin),
    connectionHandlers: selection.connectionHandlers.filter(builtin),
    services: selection.services.filter(builtin),
  };
}

/**
 * No silent plugins: loads the plugin's module alone into a probe container and checks that it binds
 * the contract of its slot and no other slot's contract. A plugin whose binding meets nothing (a
 * different token, or none) would otherwise be listed and never called.
 */
async function checkBindings(plugin: PluginDescriptor, configKey: string): Promise<void> {
  const probe = new Container();
  try {
    await probe.loadAsync(plugin.module);
  } catch (error) {
    throw new HostError('plugin-invalid', `${configKey}: plugin "${plugin.id}" failed while binding its services: ${String(error)}`, { cause: error });
  }
  const expected = SLOT_CONTRACTS[plugin.kind];
  const bound = CONTRACTS.filter((token) => probe.isBound(token));
  const foreign = bound.filter((token) => token !== expected && token !== HostService);
  if (bound.includes(expected) && foreign.length === 0) return;
  const found = bound.length > 0 ? `it binds ${bound.map(tokenName).join(', ')}` : 'it binds none of the host contracts';
  throw new HostError(
    'plugin-invalid',
    `${configKey}: ${plugin.kind} plugin "${plugin.id}" must bind ${tokenName(expected)} and no other slot's contract, but ${found}. ` +
      `Bind it with bind(${tokenName(expected)}).toService(YourClass), importing ${tokenName(expected)} from 'sonarhost/plugin-api'.`,
  );
}

/**
 * Options under a key that is no loaded plugin's id are read by nobody: most often the package name
 * was used instead of the plugin id, or the plugin is not selected. Say so once at start-up.
 */
function warnAboutUnusedPluginOptions(config: HostConfig, plugins: readonly SelectedPlugin[], logger: Logger): void {
  const ids = plugins.map((p) => p.plugin.id);
  for (const key of Object.keys(config.pluginOptions)) {
    if (ids.includes(key)) continue;
    const selectedAs = plugins.find((p) => specifierOf(config, p.configKey) === key);
    logger.warn(
      selectedAs
        ? `pluginOptions["${key}"] is ignored: options are keyed by plugin id, and the plugin loaded from "${key}" has the id "${selectedAs.plugin.id}"`
        : `pluginOptions["${key}"] is ignored: no loaded plugin has that id (the loaded plugins are ${ids.map((id) => `"${id}"`).join(', ')})`,
      { loadedPluginIds: ids },
    );
  }
}

/** The config entry a plugin was selected by (`plugins.deviceTransports[1]` → its specifier). */
function specifierOf(config: HostConfig, configKey: string): string | undefined {
  const match = /^plugins\.(\w+)(?:\[(\d+)\])?$/.exec(configKey);
  if (!match) return undefined;
  const value = config.plugins[match[1] as keyof PluginSelection];
  return Array.isArray(value) ? value[Number(match[2])] : value;
}

function tokenName(token: symbol): string {
  return (token.description ?? String(token)).replace(/^sonarhost\./, '');
}

interface SelectedPlugin {
  plugin: PluginDescriptor;
  configKey: string;
}

async function selectPlugins(
  selection: PluginSelection,
  catalog: readonly PluginCatalogEntry[],
  configDir: string | undefined,
  cwd: string,
  beforeImport: HostContainerOverrides['beforeImport'],
): Promise<SelectedPlugin[]> {
  const bases = pluginBases(configDir, cwd);
  const selected: SelectedPlugin[] = [];
  for (const [key, kind] of SLOTS) {
    const value = selection[key];
    const entries = Array.isArray(value) ? value : [value];
    for (const [index, specifier] of entries.entries()) {
      const configKey = Array.isArray(value) ? `plugins.${key}[${index}]` : `plugins.${key}`;
      const plugin = await resolvePlugin(specifier, kind, configKey, catalog, bases, (file) => beforeImport?.({ configKey, specifier, file }));
      if (selected.some((p) => p.plugin.id === plugin.id)) throw new HostError('config-invalid', `${configKey}: plugin "${plugin.id}" is selected twice.`);
      selected.push({ plugin, configKey });
    }
  }
  return selected;
}
