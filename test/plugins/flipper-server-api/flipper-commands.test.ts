import assert from 'node:assert/strict';
import type * as http from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppSession } from '../../../src/core/app-session.js';
import { ClientRegistry } from '../../../src/core/client-registry.js';
import { CertificateExchangeMedium, clientIdOf } from '../../../src/core/client-query.js';
import { type DeviceLogEntry, type DeviceSummary, type DeviceTransport } from '../../../src/core/device-transport.js';
import { toDisposable } from '../../../src/core/disposable.js';
import { HostEvents } from '../../../src/core/host-events.js';
import { loopbackRefusal } from '../../../src/core/loopback-access.js';
import { FLIPPER_COMMANDS, type FlipperCommandContext, runFlipperCommand } from '../../../src/plugins/flipper-server-api/flipper-commands.js';
import { type DeviceChange, FlipperDevices } from '../../../src/plugins/flipper-server-api/flipper-devices.js';
import { FlipperDeviceLogs } from '../../../src/plugins/flipper-server-api/flipper-device-logs.js';
import { FlipperDoctor } from '../../../src/plugins/flipper-server-api/flipper-doctor.js';
import { EmptyFlipperPlugins } from '../../../src/plugins/flipper-server-api/flipper-plugin-source.js';
import { FlipperSettings } from '../../../src/plugins/flipper-server-api/flipper-settings.js';
import { MemoryLogger } from '../../helpers/fakes.js';

/** A device transport that keeps state: its devices, screenshots and log followers. */
class FakeTransport implements DeviceTransport {
  readonly id = 'android';
  devices: DeviceSummary[] = [{ transport: 'android', id: 'emulator-5554', name: 'Pixel', state: 'device', details: {}, os: 'Android', deviceType: 'emulator', features: { screenshot: true, logs: true } }];
  followers = new Map<string, (entry: DeviceLogEntry) => void>();
  serves() {
    return false;
  }
  async locate(): Promise<never> {
    throw new Error('not used');
  }
  async deploy() {}
  async listDevices() {
    return this.devices;
  }
  async check() {
    return [{ name: 'adb', status: 'ok' as const, detail: 'found' }];
  }
  async takeScreenshot(deviceId: string) {
    return Buffer.from(`png of ${deviceId}`);
  }
  followLogs(deviceId: string, onEntry: (entry: DeviceLogEntry) => void) {
    this.followers.set(deviceId, onEntry);
    return toDisposable(() => void this.followers.delete(deviceId));
  }
}

const channel = { requestResponse: async () => '{"success":{}}', fireAndForget: () => undefined, close: () => undefined, pendingRequests: 0 };
function session(query: { app: string; os: string; device: string; deviceId: string; medium: CertificateExchangeMedium }): AppSession {
  const full = { ...query, sdkVersion: 4 };
  return new AppSession(clientIdOf(full), full, 'com.example', channel, { onEvent: () => undefined, onRefreshPlugins: () => undefined }, new MemoryLogger());
}

describe('the flipper-server command table and device mapping', () => {
  it('answers every name in the table, and unknown names, without hanging; refusals say so', async () => {
    const context = { registry: new ClientRegistry(undefined, new HostEvents(), new MemoryLogger()) } as unknown as FlipperCommandContext;
    await assert.rejects(runFlipperCommand(context, 'toString', []), /Unknown command "toString"/, 'no prototype names');
    await assert.rejects(runFlipperCommand(context, 'node-api-fs-writefile', ['/tmp/x', 'y']), /sonarhost refuses node-api-fs-writefile: .*file system/);
    const refused = Object.entries(FLIPPER_COMMANDS).filter(([, c]) => 'refused' in c).map(([name]) => name);
    for (const name of ['node-api-exec', 'download-file-start', 'open-file', 'keychain-write', 'intern-graph-post', 'is-logged-in', 'shutdown', 'restart', 'android-launch-emulator', 'device-shell-exec', 'plugins-install-from-npm']) assert.ok(refused.includes(name), name);
    assert.ok(Object.keys(FLIPPER_COMMANDS).length >= 73);
  });

  it('lists transport devices, files clients under them, makes up dummy devices for browser clients, and screenshots as base64', async () => {
    const transport = new FakeTransport();
    const changes: DeviceChange[] = [];
    const devices = new FlipperDevices([transport], new MemoryLogger(), (c) => changes.push(c));
    await devices.refresh();
    assert.deepEqual(devices.find('emulator-5554')?.description, { serial: 'emulator-5554', title: 'Pixel', os: 'Android', deviceType: 'emulator', features: { screenshotAvailable: true, screenCaptureAvailable: false } });
    const phoneApp = session({ app: 'A', os: 'Android', device: 'Pixel', deviceId: 'emulator-5554', medium: CertificateExchangeMedium.FS_ACCESS });
    devices.clientConnected(phoneApp);
    assert.equal(changes.length, 1, 'no second announcement for a listed device');
    const browserApp = session({ app: 'Web', os: 'JSWebApp', device: 'Chrome', deviceId: 'web-1', medium: CertificateExchangeMedium.NONE });
    devices.clientConnected(browserApp);
    assert.deepEqual(changes.map((c) => [c.kind, c.device.description.serial, c.device.description.deviceType]), [['connected', 'emulator-5554', 'emulator'], ['connected', 'web-1', 'dummy']]);
    devices.clientDisconnected(browserApp.id);
    assert.deepEqual(changes.at(-1)!.kind, 'disconnected', 'a made-up device leaves with its last client');
    transport.devices = [{ ...transport.devices[0]!, state: 'offline' }];
    await devices.refresh('android');
    assert.ok(devices.find('emulator-5554'), 'still in use by its app');

    const registry = new ClientRegistry(undefined, new HostEvents(), new MemoryLogger());
    const context: FlipperCommandContext = {
      registry, devices, plugins: new EmptyFlipperPlugins(), settings: new FlipperSettings(join('/nonexistent', 'x')), doctor: new FlipperDoctor([transport]),
      config: async () => ({}), screenshot: (serial) => transport.takeScreenshot(serial), requestTimeoutMs: 1000,
    };
    assert.equal(Buffer.from((await runFlipperCommand(context, 'device-take-screenshot', ['emulator-5554'])) as string, 'base64').toString(), 'png of emulator-5554');
    const checks = (await runFlipperCommand(context, 'doctor-get-healthchecks', [{}])) as { android: { healthchecks: Array<{ key: string; result: { status: string } }> }; ios: { isSkipped: boolean } };
    assert.equal(checks.android.healthchecks[0]!.result.status, 'SUCCESS');
    assert.equal(checks.ios.isSkipped, true);
    assert.deepEqual(await runFlipperCommand(context, 'doctor-run-healthcheck', [{}, 'android', checks.android.healthchecks[0]!.key]), { status: 'SUCCESS', message: { id: 'sonarhost.check', params: { text: 'found' } } });
    await assert.rejects(runFlipperCommand(context, 'plugin-source', ['/etc/passwd']), /No Flipper plugin is installed/);
  });

  it('follows device logs only while a UI is connected', async () => {
    const transport = new FakeTransport();
    const devices = new FlipperDevices([transport], new MemoryLogger(), () => undefined);
    await devices.refresh();
    const entries: Array<{ serial: string; entry: DeviceLogEntry }> = [];
    const logs = new FlipperDeviceLogs(() => devices.list(), (serial, entry) => entries.push({ serial, entry }), new MemoryLogger());
    assert.equal(transport.followers.size, 0, 'no UI, no logcat');
    logs.setActive(true);
    const line: DeviceLogEntry = { date: new Date(0).toISOString(), type: 'info', message: 'hi', pid: 1, tid: 2, tag: 'T' };
    transport.followers.get('emulator-5554')!(line);
    assert.deepEqual(entries, [{ serial: 'emulator-5554', entry: line }]);
    logs.setActive(false);
    assert.equal(transport.followers.size, 0, 'stopped when the last UI left');
  });

  it('takes only loopback Host names and this exact origin', () => {
    const req = (host: string, origin?: string) => ({ headers: origin === undefined ? { host } : { host, origin } }) as http.IncomingMessage;
    assert.equal(loopbackRefusal(req('localhost:5'), 5), undefined);
    assert.equal(loopbackRefusal(req('[::1]:5', 'http://[::1]:5'), 5), undefined);
    assert.equal(loopbackRefusal(req('127.0.0.1:5', 'http://localhost:5'), 5), undefined);
    for (const [host, origin] of [['localhost.evil.test:5', undefined], ['evil.test', undefined], ['localhost:5', 'http://localhost:5.evil.test'], ['localhost:5', 'http://localhost:6'], ['localhost:5', 'https://localhost:5'], ['localhost:5', 'http://localhost:5/x'], ['localhost:5', 'null']] as const) {
      assert.ok(loopbackRefusal(req(host, origin), 5), `${host} ${origin}`);
    }
  });
});
