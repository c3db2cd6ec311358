import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { createCsr, parseCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { type ClientQuery } from '../../src/core/client-query.js';
import { HostError } from '../../src/core/host-error.js';
import { AdbBridge } from '../../src/platforms/android/adb-bridge.js';
import { AndroidDeviceTransport } from '../../src/platforms/android/android-device-transport.js';
import { AndroidDevices } from '../../src/platforms/android/android-devices.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { devicePorts } from '../helpers/device-ports.js';
import { ADB_BINARY, type PrivateAdbServer, adbAvailable, startPrivateAdbServer } from '../helpers/fake-adb/adb-server.js';
import { FakeAndroidDevice } from '../helpers/fake-adb/fake-android-device.js';
import { freePorts } from '../helpers/free-ports.js';
import { SETUP, rawExchange } from '../helpers/raw-rsocket.js';
import { writeIsolatedConfig } from '../helpers/host-config-file.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost } from '../helpers/test-host.js';

const APP = 'com.example.droid';
const FOLDER = `/data/data/${APP}/files/sonar/`;
const FAKE_PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n';

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
    assert.ok(device.shellLog.some((l) => l.command.startsWith(`run-as ${APP} sh -c "`) && l.command.includes(`echo '-----BEGIN CERTIFICATE-----`)));
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
    // su wrote as the app's own uid, never as root.
    const uid = device.packages.get('com.example.release')!.uid!;
    assert.ok(device.shellLog.some((l) => l.command.startsWith(`su ${uid} sh -c "`)));
    const writes = device.executed.filter((e) => e.argv[0] === 'mv' || e.argv[0] === 'chmod');
    assert.ok(writes.length >= 4);
    assert.deepEqual([...new Set(writes.map((e) => e.user))], [`u0_a${uid - 10000}`]);
  });

  /** A rooted device where run-as is refused for the app (a release build), so the su path serves it, and a victim app. */
  const suDevice = async (model: string) => {
    const release = 'com.example.release';
    const { device, serial } = await newDevice({ model, rooted: true, packages: [{ package: release, debuggable: false }, { package: 'com.example.victim', debuggable: true }] });
    await device.fs.mkdir('/data/data/com.example.victim/files/sonar', { recursive: true });
    await device.fs.writeFile('/data/data/com.example.victim/files/sonar/device.crt', 'victim certificate');
    await device.fs.mkdir('/data/system', { recursive: true });
    await device.fs.writeFile('/data/system/packages.xml', 'system file');
    await device.fs.chmod('/data/system/packages.xml', 0o600);
    const folder = `/data/data/${release}/files/sonar/`;
    return { device, serial, folder, app: release, prepare: () => prepareApp(device, folder, release) };
  };
  const untouched = async (device: FakeAndroidDevice) => {
    assert.equal((await device.fs.readFile('/data/system/packages.xml')).toString(), 'system file');
    assert.equal((await device.fs.stat('/data/system/packages.xml'))!.mode, 0o600);
    assert.equal((await device.fs.readFile('/data/data/com.example.victim/files/sonar/device.crt')).toString(), 'victim certificate');
  };

  it('never writes through a link the app planted at the temporary or final names (su path)', async () => {
    const { device, folder, prepare } = await suDevice('Links at names');
    const { request } = await prepare();
    // The names the host used to write through (predictable), and the final names.
    await device.fs.symlink('/data/system/packages.xml', `${folder}device.crt.tmp`);
    await device.fs.symlink('/data/data/com.example.victim/files/sonar/device.crt', `${folder}sonarCA.crt.tmp`);
    await device.fs.symlink('/data/system/packages.xml', `${folder}device.crt`);
    await exchange(request);
    await untouched(device);
    assert.equal((await device.fs.lstat(`${folder}device.crt`))!.type, 'file', 'mv replaced the link at the final name');
    assert.match((await device.fs.readFile(`${folder}device.crt`)).toString(), /^-----BEGIN CERTIFICATE-----/);
  });

  it('refuses a link in place of sonar/, when probing and when it appears between probe and write', async () => {
    const { device, folder, app, prepare } = await suDevice('Link as sonar');
    const { csr, request } = await prepare();
    const victim = '/data/data/com.example.victim/files/sonar';
    // Between locate and deploy (signing happens there) the app swaps its folder for a link to another app's.
    const transport = host.container.get(AndroidDeviceTransport);
    const exchangeRequest = { query: { app: 'Droid', os: 'Android', device: 'x', device_id: 'x', sdk_version: 4 } as unknown as ClientQuery, csr: await parseCsr(csr), destination: folder };
    const target = await transport.locate(exchangeRequest);
    await device.fs.rename(folder.slice(0, -1), `/data/data/${app}/files/real-sonar`);
    await device.fs.symlink(victim, folder.slice(0, -1));
    const files = [{ name: 'sonarCA.crt' as const, contents: FAKE_PEM }, { name: 'device.crt' as const, contents: FAKE_PEM }];
    await assert.rejects(transport.deploy(exchangeRequest, target, files), (error: unknown) => HostError.is(error, 'destination-refused') && /sonar is a symbolic link/.test((error as Error).message));
    await untouched(device);
    assert.deepEqual((await readdir(await device.fs.hostPath(victim))).sort(), ['device.crt']);
    // And an exchange that finds the link when it probes is refused with the same reason.
    await assert.rejects(exchange(request), /sonar is a symbolic link/);
    await untouched(device);
  });

  it('refuses an app.csr that is a link (to /dev/zero) on the run-as path, and keeps serving', async () => {
    const { device } = await newDevice({ model: 'Zero link' });
    const { request } = await prepareApp(device);
    await device.fs.remove(`${FOLDER}app.csr`);
    await device.fs.symlink('/dev/zero', `${FOLDER}app.csr`);
    await assert.rejects(exchange(request), /app\.csr is a symbolic link/);
    await device.fs.remove(`${FOLDER}app.csr`);
    const { request: good } = await prepareApp(device);
    assert.equal(typeof (await exchange(good)).deviceId, 'string');
  });

  it('stops reading a device answer past its byte cap or its timeout, and ends the stream', async () => {
    const { device, serial } = await newDevice({ model: 'Endless' });
    const bridge = new AdbBridge(ADB_BINARY, { host: '127.0.0.1', port: adb.port }, false);
    const stillAfter = async () => {
      const first = device.fs.endlessBytesRead;
      await new Promise((resolve) => setTimeout(resolve, 700));
      return device.fs.endlessBytesRead - first;
    };
    await assert.rejects(bridge.shell(serial, 'cat /dev/zero', { maxBytes: 64 * 1024 }), /sent more than 65536 bytes .*the command was stopped/);
    await new Promise((resolve) => setTimeout(resolve, 300)); // what was in flight drains
    assert.equal(await stillAfter(), 0, 'the device stopped sending: the stream was closed');
    await assert.rejects(bridge.shell(serial, 'cat /dev/zero', { maxBytes: 1 << 30, timeoutMs: 500 }), /no complete answer within 500 ms; the command was stopped/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await stillAfter(), 0, 'the timeout closed the stream too');
    assert.ok(device.fs.endlessBytesRead < 64 * 1024 * 1024, `read ${device.fs.endlessBytesRead} bytes`);
  });

  it('costs one probe and one write per device for a new CSR, one write for the same CSR again, and probes again after the device went away', async () => {
    const { device, serial } = await newDevice({ model: 'Round trips' });
    await whenReversed(serial);
    const { request } = await prepareApp(device);
    device.clearLogs();
    assert.deepEqual(await exchange(request), { deviceId: serial });
    assert.equal(device.shellLog.length, 2, JSON.stringify(device.shellLog.map((l) => l.command.slice(0, 60))));
    device.clearLogs();
    assert.deepEqual(await exchange(request), { deviceId: serial });
    assert.equal(device.shellLog.length, 1, 'the match is remembered while the device stays online');
    assert.ok(device.shellLog[0]!.command.includes('mv '));
    await device.detach(adb);
    await eventually(() => android().get(serial) === undefined, 'the host to see the device go');
    await device.attach(adb);
    await whenReversed(serial);
    device.clearLogs();
    assert.deepEqual(await exchange(request), { deviceId: serial });
    assert.equal(device.shellLog.length, 2, 'a device that went away is probed again');
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
