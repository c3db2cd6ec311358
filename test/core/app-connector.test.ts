import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AppChannel } from '../../src/core/app-channel.js';
import { AppConnector } from '../../src/core/app-connector.js';
import { CertificateExchangeMedium } from '../../src/core/client-query.js';
import { ClientRegistry } from '../../src/core/client-registry.js';
import { ConnectionDiagnostics } from '../../src/core/connection-diagnostics.js';
import { HostEvents } from '../../src/core/host-events.js';
import { MemoryLogger, testConfig } from '../helpers/fakes.js';

/** An app that answers the registration requests with no plugins. */
const answeringChannel = (): AppChannel => ({
  requestResponse: async (id) => JSON.stringify({ id, success: { plugins: [] } }),
  fireAndForget: () => undefined,
  close: () => undefined,
  pendingRequests: 0,
});

describe('AppConnector', () => {
  it('logs (once) when an app sends more messages before its registration than the early buffer holds', async () => {
    const logger = new MemoryLogger();
    const registry = new ClientRegistry([], new HostEvents(), logger);
    const connector = new AppConnector(registry, new ConnectionDiagnostics(logger), [], testConfig(), logger);
    const query = { os: 'Linux', device: 'd', app: 'Chatty', deviceId: '', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS };
    const app = connector.connect({ query, appId: 'com.example.chatty', channel: answeringChannel() });
    // Synchronously after connect(): the session does not exist yet, so these are buffered or dropped.
    for (let i = 0; i < 1500; i++) app.receive(JSON.stringify({ method: 'execute', params: { api: 'p', method: `m${i}`, params: {} } }));
    const dropped = logger.records.filter((r) => r.level === 'warn' && r.message.startsWith('dropped messages the app sent before its registration'));
    assert.equal(dropped.length, 1, 'one line, not one per dropped message');
    assert.equal(dropped[0]!.fields.app, 'Chatty');
    app.closed();
  });
});
