import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { AndroidDevices } from '../../src/platforms/android/android-devices.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { devicePorts } from '../helpers/device-ports.js';
import { type PrivateAdbServer, adbAvailable, startPrivateAdbServer } from '../helpers/fake-adb/adb-server.js';
import { FakeAndroidDevice } from '../helpers/fake-adb/fake-android-device.js';
import { freePorts } from '../helpers/free-ports.js';
import { SETUP, rawExchange } from '../helpers/raw-rsocket.js';
import { writeIsolatedConfig } from '../helpers/host-config-file.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost } from '../helpers/test-host.js';

const APP = 'com.example.droid';
const FOLDER = `/data/data/${APP}/files/sonar/`;

/**
 * Android end to end: the real Debian adb server, our fake device daemon attached to it, and the host's
 * android transport talking to that server. Nothing touches the user's adb server or keys.
 */
describe('Android through the real adb server and a fake device', { skip: adbAvailable() ? false : 'adb is not installed (apt-get install adb; .ci/run does)' }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let adb: PrivateAdbServer;
  let host: TestHost;
  let ports: { insecure: number; secure: number };
  const devices: FakeAndroidDevice[] = [];
  const stops: Array<() => Promise<void>> = [];

  const newDevice = async (options: ConstructorParameters<typeof FakeAndroidDevice>[0] = {}) => {
    const device = new FakeAndroidDevice({ packages: [{ package: APP, debuggable: true }], ...options });
    devices.push(device);
    await device.start();
    const serial = await device.attach(adb, options.unauthorized ? 'unauthorized' : 'device');
    return { device, serial };
  };
  const android = () => host.container.get(AndroidDevices);
  const whenReversed = (serial: string) =>
    eventually(() => android().get(serial)?.reversed.length === 2, `adb reverse on ${serial}`, 30_000).catch(async (error: Error) => {
      throw new Error(`${error.message}; the host sees ${JSON.stringify(android().list())}; adb lists ${JSON.stringify(await adb.devices())}`);
    });
  /** An app.csr as the SDK writes it into its folder on the device, and the request it then sends. */
  const prepareApp = async (device: FakeAndroidDevice, folder = FOLDER, appId = APP) => {
    const csr = await createCsr(appId, await generateRsaKeyPair());
    const path = await device.fs.hostPath(folder + 'app.csr');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, csr);
    return { csr, request: JSON.stringify({ method: 'signCertificate', csr, destination: folder, medium: 1 }) };
  };
  const exchange = (request: string, setup = SETUP({ os: 'Android', device: 'Fake Pixel - 11 - API 30' })) =>
    rawExchange(ports.insecure, setup, request).then((reply) => JSON.parse(reply.data!) as { deviceId: string });

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    adb = await startPrivateAdbServer();
    const [insecure, secure] = await freePorts(2);
    ports = { insecure: insecure!, secure: secure! };
    host = await startTestHost(dir, (config) => {
      config.ports = ports; // fixed: adb reverse needs the real port numbers
      config.plugins.deviceTransports = ['android'];
      config.pluginOptions.android = { adbServerPort: adb.port, startServer: false };
    });
  });
  after(async () => {
    for (const stop of stops) await stop();
    await host?.stop();
    for (const device of devices) await device.stop();
    await adb?.stop();
    await cleanup();
  });

  it('an app on the device exchanges and connects through adb reverse, with deviceId = the adb serial', async () => {
    const { device, serial } = await newDevice();
    await whenReversed(serial);
    assert.deepEqual(device.reverses.list().map((r) => r.remote).sort(), [`tcp:${ports.insecure}`, `tcp:${ports.secure}`].sort());
    const tunnel = await devicePorts(device, [ports.insecure, ports.secure]);
    stops.push(tunnel.stop);
    const client = new FlipperClient({
      appId: APP, appName: 'Droid', os: 'Android', device: 'Fake Pixel - 11 - API 30',
      stateDir: await device.fs.hostPath(FOLDER), reportedStateDir: FOLDER,
      host: '127.0.0.1', ports: { insecure: tunnel.local[ports.insecure]!, secure: tunnel.local[ports.secure]! },
      plugins: [demoPlugin()], reconnectMs: 100,
    });
    stops.push(() => client.stop());
    const exchanged = new Promise<{ deviceId: unknown }>((resolve) => client.once('exchanged', resolve));
    client.start();
    assert.deepEqual(await exchanged, { deviceId: serial });
    const session = await eventually(() => host.registry.list().find((s) => s.appId === APP), 'the app to register', 15_000);
    assert.equal(session.query.deviceId, serial);
    assert.equal(session.id, `Droid#Android#Fake Pixel - 11 - API 30#${serial}`);
    assert.deepEqual(await session.call('demo', 'echo', 'over adb'), 'over adb');
    // Both files were written through run-as into the app's folder, in one shell round trip.
    assert.ok(device.shellLog.some((l) => l.command.startsWith(`run-as ${APP} sh -c "echo '-----BEGIN CERTIFICATE-----`)));
    await client.stop();
  });

  it('sonarhost devices lists it with model, API level, state and the reverse ports', async () => {
    const config = await writeIsolatedConfig(dir, ports, {
      plugins: { deviceTransports: ['android'] },
      pluginOptions: { android: { adbServerPort: adb.port, startServer: false } },
    });
    const result = await runCli(['devices', '--config', config, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const [report] = JSON.parse(result.stdout) as Array<{ transport: string; devices: Array<{ id: string; name: string; state: string; details: Record<string, string> }> }>;
    assert.equal(report!.transport, 'android');
    const first = report!.devices.find((d) => d.name === 'Fake Pixel')!;
    assert.equal(first.state, 'device');
    assert.equal(first.details.apiLevel, '30');
    assert.equal(first.details.reverse, `tcp:${ports.insecure}, tcp:${ports.secure}`);
    const text = await runCli(['devices', '--config', config]);
    assert.match(text.stdout, /android:\n {2}127\.0\.0\.1:\d+ +Fake Pixel +device +model: Fake Pixel, apiLevel: 30, reverse: tcp:/);
  });

  it('tells two devices running the same app apart by their app.csr', async () => {
    const { device: other, serial: otherSerial } = await newDevice({ model: 'Other Phone' });
    const { device: target, serial: targetSerial } = await newDevice({ model: 'Target Phone' });
    await prepareApp(other); // the same app on the other device has its own, different CSR
    const { request } = await prepareApp(target);
    assert.deepEqual(await exchange(request), { deviceId: targetSerial });
    assert.deepEqual((await readdir(await target.fs.hostPath(FOLDER))).sort(), ['app.csr', 'device.crt', 'sonarCA.crt']);
    assert.deepEqual(await readdir(await other.fs.hostPath(FOLDER)), ['app.csr'], 'nothing written on the other device');
    assert.notEqual(otherSerial, targetSerial);
  });

  it('explains a non-debuggable app, and uses su where the device is rooted', async () => {
    const { device } = await newDevice({ packages: [{ package: 'com.example.release', debuggable: false }] });
    const { request } = await prepareApp(device, '/data/data/com.example.release/files/sonar/', 'com.example.release');
    await assert.rejects(exchange(request), /Android app com\.example\.release on .* is not debuggable.*android:debuggable="true"/);
    device.rooted = true;
    const { request: again } = await prepareApp(device, '/data/data/com.example.release/files/sonar/', 'com.example.release');
    assert.equal(typeof (await exchange(again)).deviceId, 'string');
    assert.ok(device.shellLog.some((l) => l.command.startsWith('su 0 sh -c')));
  });

  it('names an unauthorized device and what to do about it', async () => {
    const { serial } = await newDevice({ unauthorized: true });
    await eventually(() => android().get(serial)?.state === 'unauthorized', `the host to see the device as unauthorized (it sees ${JSON.stringify(android().list())}; adb: ${JSON.stringify(await adb.devices())})`);
    assert.ok(host.logger.messages('warn').includes(`Android device ${serial} is unauthorized: accept the USB debugging prompt on the device`));
    const { request } = await prepareApp(devices.at(-1)!);
    await assert.rejects(exchange(request), new RegExp(`${serial.replace(/\./g, '\\.')}: unauthorized \\(accept the USB debugging prompt on the device\\)`));
  });

  it('reports a device that vanished mid-exchange, and keeps serving', async () => {
    const { device } = await newDevice({ model: 'Vanishing' });
    const { request } = await prepareApp(device);
    await device.vanish(); // adb does not notice at once: the host still believes it is online
    await assert.rejects(exchange(request), /No Android device holds an app\.csr|did not answer/);
  });

  it('refuses hostile destinations before anything reaches a device shell', async () => {
    const { device } = await newDevice({ model: 'Hostile', rooted: true });
    const { csr } = await prepareApp(device);
    device.clearLogs();
    const hostile = [
      `/data/data/${APP}/files/sonar'; reboot; '/`,
      `/data/data/${APP}/files/$(reboot)/`,
      `/data/data/${APP}/files/\`reboot\`/`,
      `/data/data/${APP}/files/sonar;reboot/`,
      `/data/data/${APP}/../../local/tmp/`,
      `/data/data/${APP}/files/so\nnar/`,
      `/data/local/tmp/`,
      `/data/data/com.example.other/files/sonar/`,
    ];
    for (const destination of hostile) {
      await assert.rejects(exchange(JSON.stringify({ method: 'signCertificate', csr, destination, medium: 1 })), /Refusing destination|control characters|not inside the private data folder/, destination);
    }
    assert.deepEqual(device.shellLog, [], 'no command reached the device');
    assert.deepEqual(device.substitutions, []);
  });

  it('survives an adb server restart: one log line per outage, and the devices come back', async () => {
    const { device, serial } = await newDevice({ model: 'Survivor' });
    await whenReversed(serial);
    const env = adb.env;
    await adb.adb(['kill-server']);
    await eventually(() => host.logger.messages('warn').some((m) => m.startsWith('lost the adb server')), 'the outage to be noticed');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // several retries happen meanwhile
    assert.equal(host.logger.messages('warn').filter((m) => m.startsWith('lost the adb server')).length, 1, 'one line per outage, not per retry');
    const server = spawn('adb', ['-P', String(adb.port), 'nodaemon', 'server'], { env, stdio: 'ignore' });
    stops.push(async () => {
      server.kill('SIGKILL');
    });
    await eventually(async () => (await adb.adb(['devices'])).code === 0, 'the restarted server');
    for (const d of devices.filter((x) => x.online)) await d.detach(adb).catch(() => undefined);
    const again = await device.attach(adb);
    await eventually(() => host.logger.messages('info').includes('the adb server is reachable again'), 'the host to reconnect', 20_000);
    await whenReversed(again);
    const { request } = await prepareApp(device);
    assert.deepEqual(await exchange(request), { deviceId: again });
  });
});
