import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DeviceLogEntry } from '../../src/core/device-transport.js';
import { HostError } from '../../src/core/host-error.js';
import { HostEvents } from '../../src/core/host-events.js';
import { type AdbBridge } from '../../src/platforms/android/adb-bridge.js';
import { AndroidDeviceTransport } from '../../src/platforms/android/android-device-transport.js';
import { AndroidDevices } from '../../src/platforms/android/android-devices.js';
import { ADB_BINARY, type PrivateAdbServer, adbAvailable, startPrivateAdbServer } from '../helpers/fake-adb/adb-server.js';
import { FakeAndroidDevice } from '../helpers/fake-adb/fake-android-device.js';
import { type LogcatSession, formatThreadtime } from '../helpers/fake-adb/fake-logcat.js';
import { makePng } from '../helpers/fake-adb/png-image.js';
import { waitUntil, within } from '../helpers/fake-adb/wait.js';
import { MemoryLogger, testConfig } from '../helpers/fakes.js';

/** Entries as they arrive, and a way to wait for the n-th one. */
function collector() {
  const entries: DeviceLogEntry[] = [];
  let ended: { error?: Error } | undefined;
  return {
    entries,
    onEntry: (entry: DeviceLogEntry) => entries.push(entry),
    onEnd: (error?: Error) => {
      assert.equal(ended, undefined, 'onEnd is called once');
      ended = error ? { error } : {};
    },
    ended: () => ended,
    count: (n: number, what: string) => waitUntil(() => entries.length >= n, `${n} log entries (${what}); got ${JSON.stringify(entries)}`, 15_000, 20),
  };
}

/** The fake device's next logcat run to end, and why. */
function nextClose(device: FakeAndroidDevice): Promise<LogcatSession> {
  return new Promise((resolve) => device.logcat.once('closed', resolve));
}

/**
 * Screenshots and logs of Android devices through the real adb server (a private one, on a port of its
 * own, never 5037) and the fake device daemon: the host side is AndroidDeviceTransport as the host
 * builds it.
 */
describe('Android screenshots and logcat through the real adb server', { skip: adbAvailable() ? false : 'adb is not installed (apt-get install adb; .ci/run does)' }, () => {
  let adb: PrivateAdbServer;
  let transport: AndroidDeviceTransport;
  let bridge: AdbBridge;
  const devices: FakeAndroidDevice[] = [];

  const newDevice = async (options: ConstructorParameters<typeof FakeAndroidDevice>[0] = {}) => {
    const device = new FakeAndroidDevice(options);
    devices.push(device);
    await device.start();
    return { device, serial: await device.attach(adb) };
  };

  before(async () => {
    adb = await startPrivateAdbServer();
    const config = testConfig({ pluginOptions: { android: { adbPath: ADB_BINARY, adbServerPort: adb.port, startServer: false } } });
    const logger = new MemoryLogger();
    const android = new AndroidDevices(config, new HostEvents(), logger);
    bridge = await android.connect();
    transport = new AndroidDeviceTransport(android, config, logger);
  });
  after(async () => {
    for (const device of devices) await device.stop();
    await adb?.stop();
  });

  it('takeScreenshot returns the PNG the device printed, byte for byte, over exec:', async () => {
    const { device, serial } = await newDevice();
    device.screen = makePng(64, 32);
    const png = await transport.takeScreenshot(serial);
    assert.ok(png.equals(device.screen), `got ${png.length} bytes, the device has ${device.screen.length}`);
    assert.ok(device.shellLog.some((l) => l.service === 'exec' && l.command === 'screencap -p'), JSON.stringify(device.shellLog));
  });

  it('a screenshot larger than the cap is refused, and one that is not a PNG is a clear error', async () => {
    const { device, serial } = await newDevice();
    device.screen = makePng(200, 200, (x, y) => [x ^ y, x * y, x + y]);
    await assert.rejects(bridge.screenshot(serial, { maxBytes: 100 }), (error: unknown) => HostError.is(error, 'device-unavailable') && /larger than 100 bytes/.test(error.message));
    device.screen = Buffer.from('screencap: permission denied\n');
    await assert.rejects(transport.takeScreenshot(serial), (error: unknown) => HostError.is(error, 'device-unavailable') && /not a PNG/.test(error.message) && error.message.includes(serial));
    device.screen = Buffer.alloc(0);
    await assert.rejects(transport.takeScreenshot(serial), (error: unknown) => HostError.is(error, 'device-unavailable') && /printed nothing/.test(error.message));
  });

  it('a screenshot of an unknown device is device-not-found, and an aborted signal stops it', async () => {
    await assert.rejects(transport.takeScreenshot('127.0.0.1:1'), (error: unknown) => HostError.is(error, 'device-not-found') && error.message.includes('127.0.0.1:1'));
    const { serial } = await newDevice();
    const controller = new AbortController();
    controller.abort(new Error('the UI went away'));
    await assert.rejects(transport.takeScreenshot(serial, controller.signal), /the UI went away/);
  });

  it('a device that does not answer: aborting stops the screenshot at once, and the time limit ends it', async () => {
    const { device, serial } = await newDevice();
    let release!: () => void;
    device.screencapHold = new Promise<void>((resolve) => (release = resolve));
    try {
      const controller = new AbortController();
      const shot = transport.takeScreenshot(serial, controller.signal);
      await waitUntil(() => device.shellLog.some((l) => l.command === 'screencap -p'), 'screencap to start on the device', 15_000, 20);
      controller.abort(new Error('the UI went away'));
      await assert.rejects(within(shot, 'the aborted screenshot to settle', 5_000), /the UI went away/);
      await assert.rejects(bridge.screenshot(serial, { timeoutMs: 300 }), (error: unknown) => HostError.is(error, 'timeout') && error.message.includes(serial));
    } finally {
      release();
    }
  });

  it('followLogs delivers the newest line before it started and every line after, parsed, skipping garbage', async () => {
    const { device, serial } = await newDevice();
    const early = new Date(2000, 0, 1);
    early.setFullYear(new Date().getFullYear());
    device.logcat.log({ message: 'too old to be shown', date: early });
    device.logcat.log({ level: 'W', tag: 'Before', pid: 42, tid: 43, message: 'the last line before', date: early });
    const logs = collector();
    const follow = transport.followLogs(serial, logs.onEntry, logs.onEnd);
    try {
      await logs.count(1, 'the line from before');
      assert.deepEqual(logs.entries[0], { date: early.toISOString(), type: 'warn', pid: 42, tid: 43, tag: 'Before', message: 'the last line before' });
      const at = new Date();
      at.setMilliseconds(123);
      device.logcat.push(
        formatThreadtime({ level: 'E', tag: 'Crash', pid: 7, tid: 9, message: 'boom: with a colon', date: at }),
        'garbage \u0000\u001b[31m not a logcat line',
        '--------- beginning of crash',
        `${formatThreadtime({ level: 'D', tag: 'Long', message: '' })}${'x'.repeat(100_000)}`,
        '01-01 00:00:00.000 99999999999 1 I Tag: a pid too long to be real',
        formatThreadtime({ level: 'F', tag: 'My Tag', pid: 1, tid: 2, message: 'ünïcödé ✓', date: at }),
      );
      await logs.count(4, 'the lines after');
      assert.deepEqual(logs.entries[1], { date: at.toISOString(), type: 'error', pid: 7, tid: 9, tag: 'Crash', message: 'boom: with a colon' });
      assert.equal(logs.entries[2]!.tag, 'Long');
      assert.ok(logs.entries[2]!.message.length < 17_000, 'an endless line is cut');
      assert.deepEqual(logs.entries[3], { date: at.toISOString(), type: 'fatal', pid: 1, tid: 2, tag: 'My Tag', message: 'ünïcödé ✓' });
      device.logcat.log({ message: 'still following' });
      await logs.count(5, 'a line after the garbage');
      assert.equal(logs.entries[4]!.message, 'still following');
      assert.equal(logs.entries.length, 5);
      assert.equal(device.logcat.following, 1);
      assert.ok(device.shellLog.some((l) => l.service === 'exec' && l.command === 'logcat -v threadtime -T 1'), JSON.stringify(device.shellLog));
    } finally {
      const closed = nextClose(device);
      await follow.dispose();
      // Disposing closes the adb stream: the device sees the hangup and logcat stops there.
      assert.equal((await within(closed, 'logcat to stop on the device', 15_000)).why, 'hangup');
    }
    assert.equal(device.logcat.following, 0);
    device.logcat.log({ message: 'after dispose' });
    assert.equal(logs.ended(), undefined, 'disposing calls no onEnd');
    assert.equal(logs.entries.length, 5);
  });

  it('followLogs ends with onEnd when the device goes away, and for an unknown device', async () => {
    const { device, serial } = await newDevice();
    const logs = collector();
    const follow = transport.followLogs(serial, logs.onEntry, logs.onEnd);
    await waitUntil(() => device.logcat.following === 1, 'logcat to start on the device', 15_000, 20);
    device.logcat.log({ message: 'one line' });
    await logs.count(1, 'the line');
    await device.vanish();
    const ended = await waitUntil(() => logs.ended(), 'onEnd after the device vanished', 30_000, 20);
    assert.ok(HostError.is(ended.error, 'device-unavailable'), String(ended.error));
    assert.match(ended.error.message, new RegExp(serial.replace(/\./g, '\\.')));
    await follow.dispose();
    // adb keeps the vanished TCP device listed, offline: a screenshot says it is not available.
    await assert.rejects(transport.takeScreenshot(serial), (error: unknown) => HostError.is(error, 'device-unavailable') && /offline/.test(error.message) && error.message.includes(serial));

    const unknown = collector();
    transport.followLogs('127.0.0.1:1', unknown.onEntry, unknown.onEnd);
    const failed = await waitUntil(() => unknown.ended(), 'onEnd for an unknown device', 15_000, 20);
    assert.ok(HostError.is(failed.error, 'device-not-found'), String(failed.error));
  });

  it('an adbd without exec: (before Android 5): screenshot and logcat fall back to shell:, undoing its CRLF translation', async () => {
    const { device, serial } = await newDevice({ legacyShell: true });
    // Bytes 0x0a and 0x0d all over the image, as a terminal would mangle them.
    device.screen = makePng(40, 40, (x, y) => [x % 2 ? 0x0a : 0x0d, y % 3 ? 0x0d : 0x0a, 0x0a]);
    const png = await transport.takeScreenshot(serial);
    assert.ok(png.equals(device.screen), `got ${png.length} bytes, the device has ${device.screen.length}`);
    assert.ok(device.shellLog.some((l) => l.service === 'shell' && l.command === 'echo && screencap -p'), JSON.stringify(device.shellLog));
    assert.ok(!device.shellLog.some((l) => l.service === 'exec'), 'exec: was refused, so nothing ran through it');

    const logs = collector();
    const follow = transport.followLogs(serial, logs.onEntry, logs.onEnd);
    await waitUntil(() => device.logcat.following === 1, 'logcat to start on the device', 15_000, 20);
    device.logcat.log({ tag: 'Old', message: 'through a terminal' });
    await logs.count(1, 'the line');
    assert.equal(logs.entries[0]!.message, 'through a terminal', 'no CR left at the end');
    assert.ok(device.shellLog.some((l) => l.service === 'shell' && l.command === 'logcat -v threadtime -T 1'));
    const closed = nextClose(device);
    await follow.dispose();
    assert.equal((await within(closed, 'logcat to stop on the device', 15_000)).why, 'hangup');
  });

  it('listDevices describes devices as Flipper does: Android, physical or emulator, features while online', async () => {
    const phone = await newDevice();
    const emulator = await newDevice({ props: { 'ro.kernel.qemu': '1' } });
    const list = await transport.listDevices();
    const byId = (id: string) => list.find((d) => d.id === id)!;
    assert.deepEqual(
      [byId(phone.serial), byId(emulator.serial)].map((d) => ({ os: d.os, deviceType: d.deviceType, features: d.features })),
      [
        { os: 'Android', deviceType: 'physical', features: { screenshot: true, logs: true } },
        { os: 'Android', deviceType: 'emulator', features: { screenshot: true, logs: true } },
      ],
    );
  });
});
