import { type Container } from 'inversify';
import { CertificateExchange } from '../core/certificate-exchange.js';
import { CertificateStore } from '../core/certificate-store.js';
import { ConnectionHandler } from '../core/connection-handler.js';
import { DeviceTransport } from '../core/device-transport.js';
import { HostError } from '../core/host-error.js';
import { HostService } from '../core/host-service.js';
import { type PluginDescriptor, type PluginKind } from '../core/plugin-descriptor.js';

type Member = readonly [name: string, type: 'function' | 'string'];

/** What each contract's implementations must have: the members the host calls without asking first. */
const CONTRACTS: ReadonlyArray<{ token: symbol; name: string; kind: PluginKind; members: readonly Member[] }> = [
  {
    token: CertificateStore,
    name: 'CertificateStore',
    kind: 'certificate-store',
    members: [['prepare', 'function'], ['serverCredentials', 'function'], ['caCertificatePem', 'function'], ['signCsr', 'function'], ['describe', 'function'], ['renewServerCertificate', 'function'], ['rotateCertificateAuthority', 'function']],
  },
  { token: CertificateExchange, name: 'CertificateExchange', kind: 'exchange', members: [['exchange', 'function']] },
  { token: DeviceTransport, name: 'DeviceTransport', kind: 'device-transport', members: [['id', 'string'], ['serves', 'function'], ['locate', 'function'], ['deploy', 'function']] },
  { token: ConnectionHandler, name: 'ConnectionHandler', kind: 'connection-handler', members: [['id', 'string'], ['claims', 'function']] },
  { token: HostService, name: 'HostService', kind: 'service', members: [['id', 'string'], ['phase', 'string'], ['start', 'function']] },
];

export interface SelectedPluginEntry {
  plugin: PluginDescriptor;
  configKey: string;
}

/**
 * Checks every bound implementation of each contract for the members the host calls, so a transport
 * class without `locate` stops start-up naming its plugin, slot and the missing method, instead of
 * failing every exchange later as "transport.locate is not a function".
 */
export function checkContracts(container: Container, plugins: readonly SelectedPluginEntry[]): void {
  for (const contract of CONTRACTS) {
    if (!container.isBound(contract.token)) continue;
    for (const instance of container.getAll<Record<string, unknown>>(contract.token)) {
      const missing = contract.members.filter(([member, type]) => typeof instance?.[member] !== type);
      if (missing.length === 0) continue;
      const id = typeof instance?.id === 'string' ? instance.id : undefined;
      const className = (instance?.constructor as { name?: string } | undefined)?.name || 'an object';
      const owner = plugins.find((p) => p.plugin.id === id) ?? plugins.filter((p) => p.plugin.kind === contract.kind).at(-1);
      const who = owner ? `${owner.configKey}: ${owner.plugin.kind} plugin "${owner.plugin.id}"` : `a ${contract.name}`;
      const lacks = missing.map(([member, type]) => (type === 'function' ? `${member}()` : `a string "${member}"`)).join(', ');
      throw new HostError(
        'plugin-invalid',
        `${who} binds ${contract.name} to ${className}${id ? ` (id "${id}")` : ''}, which lacks ${lacks}. ` +
          `A ${contract.name} needs ${contract.members.map(([m, t]) => (t === 'function' ? `${m}()` : m)).join(', ')}: add the missing members, or check that the class bound is the one you meant.`,
      );
    }
  }
}
