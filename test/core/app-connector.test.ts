import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AppChannel } from '../../src/core/app-channel.js';
import { AppConnector } from '../../src/core/app-connector.js';
import { CertificateExchangeMedium } from '../../src/core/client-query.js';
import { ClientRegistry } from '../../src/core/client-registry.js';
import { ConnectionDiagnostics } from '../../src/core/connection-diagnostics.js';
import { type DeviceTransport } from '../../src/core/device-transport.js';
import { AndroidDeviceTransport } from '../../src/platforms/android/android-device-transport.js';
import { type AndroidDevices } from '../../src/platforms/android/android-devices.js';
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

  /** Connects an app and returns the name it was registered under. */
  async function registeredName(transports: DeviceTransport[], os: string, sdkVersion: number): Promise<string> {
    const logger = new MemoryLogger();
    const registry = new ClientRegistry([], new HostEvents(), logger);
    const connector = new AppConnector(registry, new ConnectionDiagnostics(logger), transports, testConfig(), logger);
    const query = { os, device: 'd', app: 'Old', deviceId: '', sdkVersion, medium: CertificateExchangeMedium.FS_ACCESS };
    const app = connector.connect({ query, appId: 'com.example.old', channel: answeringChannel() });
    for (let i = 0; i < 100 && registry.list().length === 0; i++) await new Promise((resolve) => setImmediate(resolve));
    const names = registry.list().map((s) => s.query.app);
    app.closed();
    assert.equal(names.length, 1, 'the app was registered');
    return names[0]!;
  }

  it('asks the device transports for the app name instead of testing the OS itself', async () => {
    // Without a transport that marks it, an old Android SDK keeps its name: the core has no OS rule of its own.
    assert.equal(await registeredName([], 'Android', 2), 'Old');
    const renaming = { id: 'fake', serves: () => false, secureAppName: (q: { app: string }) => `${q.app} [renamed]` } as unknown as DeviceTransport;
    assert.equal(await registeredName([renaming], 'Linux', 4), 'Old [renamed]');
  });

  it('the Android transport marks old Android SDKs as upstream does, and nothing else', async () => {
    const android = new AndroidDeviceTransport({} as AndroidDevices, testConfig(), new MemoryLogger());
    assert.equal(await registeredName([android], 'Android', 2), 'Old (Outdated SDK)');
    assert.equal(await registeredName([android], 'Android', 3), 'Old');
    assert.equal(await registeredName([android], 'iOS', 2), 'Old');
  });
});
