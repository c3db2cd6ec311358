import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { API_TOKEN_FILE } from '../../src/core/access-token.js';
import { FlipperServerApiService } from '../../src/plugins/flipper-server-api/flipper-server-api-service.js';
import { type PrivateAdbServer, adbAvailable, startPrivateAdbServer } from '../helpers/fake-adb/adb-server.js';
import { FakeAndroidDevice } from '../helpers/fake-adb/fake-android-device.js';
import { type LogcatSession } from '../helpers/fake-adb/fake-logcat.js';
import { makePng } from '../helpers/fake-adb/png-image.js';
import { within } from '../helpers/fake-adb/wait.js';
import { freePorts } from '../helpers/free-ports.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost } from '../helpers/test-host.js';

interface ServerEvent {
  event: string;
  data: Record<string, unknown>;
}

/** A raw client of the flipper-server endpoint, as Flipper's UI speaks it: `exec` out, events in. */
async function flipperUi(port: number, token: string) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/?token=${token}`);
  const events: ServerEvent[] = [];
  const answers = new Map<number, (reply: { event: string; data: unknown }) => void>();
  socket.on('message', (raw: Buffer) => {
    const message = JSON.parse(raw.toString('utf8')) as { event: string; payload: { id?: number; event?: string; data?: unknown } };
    if (message.event === 'server-event') events.push({ event: message.payload.event!, data: message.payload.data as Record<string, unknown> });
    else answers.get(message.payload.id!)?.({ event: message.event, data: message.payload.data });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let id = 0;
  return {
    socket,
    events,
    exec(command: string, ...args: unknown[]): Promise<{ event: string; data: unknown }> {
      const mine = ++id;
      const reply = new Promise<{ event: string; data: unknown }>((resolve) => answers.set(mine, resolve));
      socket.send(JSON.stringify({ event: 'exec', payload: { id: mine, command, args } }));
      return within(reply, `the answer to ${command}`, 20_000);
    },
    close: () => new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.once('close', () => resolve());
      socket.close();
    }),
  };
}

/**
 * Flipper's UI on sonarhost, for an Android device: the host with its flipper-server-compatible endpoint
 * and the android transport, the real adb server (a private one, never port 5037) and the fake device.
 * A raw WebSocket client stands in for the UI.
 */
describe("Flipper's UI endpoint with an Android device: device-connected, device-log, device-take-screenshot", { skip: adbAvailable() ? false : 'adb is not installed (apt-get install adb; .ci/run does)' }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let adb: PrivateAdbServer;
  let host: TestHost;
  let port: number;
  let token: string;
  const devices: FakeAndroidDevice[] = [];

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    adb = await startPrivateAdbServer();
    [port] = (await freePorts(1)) as [number];
    host = await startTestHost(dir, (config) => {
      config.plugins.deviceTransports = ['android'];
      config.plugins.services = ['flipper-server-api'];
      config.flipperServer = { port };
      config.pluginOptions.android = { adbServerPort: adb.port, startServer: false };
    });
    token = (await readFile(join(host.config.certDir, API_TOKEN_FILE), 'utf8')).trim();
  });
  after(async () => {
    await host?.stop();
    for (const device of devices) await device.stop();
    await adb?.stop();
    await cleanup?.();
  });

  it('a UI sees the device arrive, gets its logcat lines and a screenshot, and logcat stops when the last UI leaves', async () => {
    const first = await flipperUi(port, token);
    const second = await flipperUi(port, token);
    const device = new FakeAndroidDevice({ model: 'Fake Pixel' });
    devices.push(device);
    await device.start();
    device.screen = makePng(16, 9);
    const serial = await device.attach(adb);

    const connected = await eventually(() => first.events.find((e) => e.event === 'device-connected' && e.data.serial === serial), 'device-connected for the fake device', 30_000);
    assert.deepEqual(connected.data, { serial, title: 'Fake Pixel', os: 'Android', deviceType: 'physical', features: { screenshotAvailable: true, screenCaptureAvailable: false } });

    await eventually(() => device.logcat.following === 1, 'logcat to start on the device while UIs are connected', 30_000);
    const at = new Date();
    device.logcat.log({ level: 'E', tag: 'Droid', pid: 321, tid: 322, message: 'hello from logcat', date: at });
    device.logcat.push('garbage that is no log line');
    device.logcat.log({ level: 'I', tag: 'Droid', pid: 321, tid: 322, message: 'second line', date: at });
    const logs = () => first.events.filter((e) => e.event === 'device-log' && e.data.serial === serial).map((e) => e.data.entry as Record<string, unknown>);
    await eventually(() => logs().some((e) => e.message === 'second line'), 'device-log events with the fake device\'s lines', 15_000);
    const mine = logs().filter((e) => e.tag === 'Droid');
    assert.deepEqual(mine, [
      { date: at.toISOString(), type: 'error', pid: 321, tid: 322, tag: 'Droid', message: 'hello from logcat' },
      { date: at.toISOString(), type: 'info', pid: 321, tid: 322, tag: 'Droid', message: 'second line' },
    ]);
    // Both UIs get them; one logcat serves both.
    await eventually(() => second.events.some((e) => e.event === 'device-log' && (e.data.entry as { message: string }).message === 'second line'), 'the second UI to get the lines too');
    assert.equal(device.logcat.sessions.length, 1);

    const shot = await first.exec('device-take-screenshot', serial);
    assert.equal(shot.event, 'exec-response', JSON.stringify(shot));
    assert.ok(Buffer.from(shot.data as string, 'base64').equals(device.screen), 'the screenshot is the device\'s PNG');

    await first.close();
    await eventually(() => host.container.get(FlipperServerApiService).sockets.count === 1, 'the host to see the first UI leave');
    assert.equal(device.logcat.following, 1, 'one UI left: logcat keeps running');
    const closed = new Promise<LogcatSession>((resolve) => device.logcat.once('closed', resolve));
    await second.close();
    // The last UI left: the host closed the adb stream, and the fake device saw logcat's reader go.
    assert.equal((await within(closed, 'logcat to stop on the device after the last UI left', 15_000)).why, 'hangup');
    assert.equal(device.logcat.following, 0);
  });
});
