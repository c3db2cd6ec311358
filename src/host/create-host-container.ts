import { Container, type ContainerModule } from 'inversify';
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
import { Logger, silentLogger } from '../core/logger.js';
import { type PluginDescriptor, type PluginKind } from '../core/plugin-descriptor.js';
import { BUILTIN_PLUGINS } from './builtin-plugins.js';
import { resolvePlugin } from './plugin-loader.js';

export interface HostContainerOverrides {
  logger?: Logger;
  clock?: Clock;
  /** Loaded after the plugins; may `rebind` any service (tests override one provider this way). */
  modules?: ContainerModule[];
  /** Plugin catalog; defaults to the built-in plugins. */
  catalog?: readonly PluginDescriptor[];
  /** Folder that package-name plugin specifiers are resolved from. */
  cwd?: string;
}

export interface ComposedHost {
  container: Container;
  host: Host;
  plugins: PluginDescriptor[];
}

const SLOTS: Array<[keyof PluginSelection, PluginKind]> = [
  ['certificateStore', 'certificate-store'],
  ['exchange', 'exchange'],
  ['transports', 'transport'],
  ['deviceTransports', 'device-transport'],
  ['connectionHandlers', 'connection-handler'],
  ['services', 'service'],
];

/** The slots that take exactly one plugin, and the service that plugin must bind. */
const SINGLE_SLOT_SERVICES: Array<['certificateStore' | 'exchange', symbol, string]> = [
  ['certificateStore', CertificateStore, 'CertificateStore'],
  ['exchange', CertificateExchange, 'CertificateExchange'],
];

/**
 * The single composition root: binds the config, logger and clock, loads the plugins the config
 * selects, then the overrides. The CLI and the tests build the host through this function only.
 */
export async function createHostContainer(config: HostConfig, overrides: HostContainerOverrides = {}): Promise<ComposedHost> {
  const plugins = await selectPlugins(config, overrides.catalog ?? BUILTIN_PLUGINS, overrides.cwd);
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(HostConfig).toConstantValue(config);
  container.bind(Logger).toConstantValue(overrides.logger ?? silentLogger);
  container.bind(Clock).toConstantValue(overrides.clock ?? systemClock);
  container.bind(Host).toSelf();
  container.bind(HostEvents).toSelf();
  container.bind(ClientRegistry).toSelf();
  container.bind(AppConnector).toSelf();
  container.bind(ConnectionGate).toSelf();
  container.bind(CertificateRenewal).toSelf();
  container.bind(HostService).toService(CertificateRenewal);
  container.bind(ConnectionDiagnostics).toSelf();

  await container.loadAsync(...plugins.map((p) => p.module));
  for (const [key, service, name] of SINGLE_SLOT_SERVICES) {
    if (!container.isBound(service)) throw new HostError('plugin-invalid', `plugins.${key}: "${config.plugins[key]}" did not bind ${name}.`);
  }
  for (const plugin of plugins) {
    const missing = (plugin.requires ?? []).filter((id) => !container.isBound(id));
    if (missing.length > 0) {
      throw new HostError('plugin-invalid', `Plugin "${plugin.id}" needs ${missing.map((s) => s.description).join(', ')}, which no selected plugin provides.`);
    }
  }
  if (overrides.modules?.length) await container.loadAsync(...overrides.modules);
  return { container, host: container.get(Host), plugins };
}

async function selectPlugins(config: HostConfig, catalog: readonly PluginDescriptor[], cwd?: string): Promise<PluginDescriptor[]> {
  const selected: PluginDescriptor[] = [];
  for (const [key, kind] of SLOTS) {
    const value = config.plugins[key];
    const entries = Array.isArray(value) ? value : [value];
    for (const [index, specifier] of entries.entries()) {
      const configKey = Array.isArray(value) ? `plugins.${key}[${index}]` : `plugins.${key}`;
      const plugin = await resolvePlugin(specifier, kind, configKey, catalog, cwd);
      if (selected.some((p) => p.id === plugin.id)) throw new HostError('config-invalid', `${configKey}: plugin "${plugin.id}" is selected twice.`);
      selected.push(plugin);
    }
  }
  return selected;
}
