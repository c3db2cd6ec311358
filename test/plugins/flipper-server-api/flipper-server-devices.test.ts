import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContainerModule } from 'inversify';
import { type DeviceLogEntry, type DeviceSummary, DeviceTransport } from '../../../src/core/device-transport.js';
import { toDisposable } from '../../../src/core/disposable.js';
import { HostEvents } from '../../../src/core/host-events.js';
import { FlipperServerApiService } from '../../../src/plugins/flipper-server-api/flipper-server-api-service.js';
import { FlipperUiSocket } from '../../helpers/flipper-ui-socket.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost } from '../../helpers/test-host.js';

/** A device transport with devices that come and go, screenshots and logs: the contract's optional parts. */
class FakeAndroid implements DeviceTransport {
  readonly id = 'android';
  devices: DeviceSummary[] = [summary('emulator-5554')];
  readonly followers = new Map<string, (entry: DeviceLogEntry) => void>();
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
  async takeScreenshot(deviceId: string) {
    return Buffer.from(`\x89PNG of ${deviceId}`, 'latin1');
  }
  followLogs(deviceId: string, onEntry: (entry: DeviceLogEntry) => void) {
    this.followers.set(deviceId, onEntry);
    return toDisposable(() => void this.followers.delete(deviceId));
  }
}

function summary(id: string): DeviceSummary {
  return { transport: 'android', id, name: `Pixel ${id}`, state: 'device', details: {}, os: 'Android', deviceType: 'emulator', features: { screenshot: true, logs: true } };
}

describe('devices as Flipper sees them, from a device transport', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let url: string;
  const android = new FakeAndroid();

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(
      dir,
      (config) => {
        config.plugins.services = ['flipper-server-api'];
        config.flipperServer = { port: 0 };
      },
      [new ContainerModule(({ bind }) => void bind(DeviceTransport).toConstantValue(android))],
    );
    const port = host.container.get(FlipperServerApiService).boundPort!;
    url = `ws://127.0.0.1:${port}/?token=${(await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim()}`;
  });
  after(async () => {
    await host.stop();
    await cleanup();
  });

  it('lists them, follows their logs only while a UI is open, takes screenshots, and announces arrivals and departures', async () => {
    assert.equal(android.followers.size, 0, 'no UI, no log following');
    const ui = await FlipperUiSocket.open(url);
    await eventually(async () => ((await ui.exec('device-list')).payload.data as Array<{ serial: string }>).some((d) => d.serial === 'emulator-5554'), 'the listed device');
    assert.deepEqual((await ui.exec('device-find', 'emulator-5554')).payload.data, {
      serial: 'emulator-5554', title: 'Pixel emulator-5554', os: 'Android', deviceType: 'emulator', features: { screenshotAvailable: true, screenCaptureAvailable: false },
    });
    await eventually(() => android.followers.has('emulator-5554'), 'logs followed while a UI is open');
    const line: DeviceLogEntry = { date: '2026-01-01T00:00:00.000Z', type: 'warn', message: 'low memory', pid: 10, tid: 11, tag: 'am' };
    android.followers.get('emulator-5554')!(line);
    const log = await ui.waitFor((f) => f.payload.event === 'device-log', 'device-log');
    assert.deepEqual(log.payload.data, { serial: 'emulator-5554', entry: line });

    const shot = await ui.exec('device-take-screenshot', 'emulator-5554');
    assert.equal(Buffer.from(shot.payload.data as string, 'base64').toString('latin1'), '\x89PNG of emulator-5554');
    assert.equal((await ui.exec('device-take-screenshot', 'nope')).event, 'exec-response-error');

    const events = host.container.get(HostEvents);
    android.devices = [summary('emulator-5556')];
    events.emit({ type: 'device', at: new Date().toISOString(), transport: 'android', deviceId: 'emulator-5556', state: 'device' });
    const arrived = await ui.waitFor((f) => f.payload.event === 'device-connected' && (f.payload.data as { serial: string }).serial === 'emulator-5556', 'the new device');
    assert.equal((arrived.payload.data as { title: string }).title, 'Pixel emulator-5556');
    await ui.waitFor((f) => f.payload.event === 'device-disconnected' && (f.payload.data as { serial: string }).serial === 'emulator-5554', 'the departed device');
    assert.ok(!android.followers.has('emulator-5554'), "a departed device's log is no longer followed");
    await eventually(() => android.followers.has('emulator-5556'), "the new device's log");

    ui.close();
    await eventually(() => android.followers.size === 0, 'log following stopped when the last UI left');
  });
});
