import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { exportPkcs1PrivateKeyPem, generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { CoreSimulatorFixture, snapshotTree } from '../helpers/coresimulator-fixture.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { FAKE_IPHONE_UDID } from '../fixtures/plugins/fake-physical-ios.js';
import { SETUP, rawExchange, rawSecureAttempt } from '../helpers/raw-rsocket.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost } from '../helpers/test-host.js';

// Loaded by module path, as a user would name them in plugins.deviceTransports (works from any outDir).
const SIMULATOR_PLUGIN = fileURLToPath(new URL('../../src/platforms/ios-simulator/index.js', import.meta.url));
const PHYSICAL_PLUGIN = fileURLToPath(new URL('../../src/platforms/ios-physical/index.js', import.meta.url));
const FAKE_PHYSICAL_PLUGIN = fileURLToPath(new URL('../fixtures/plugins/fake-physical-ios.js', import.meta.url));

const BUNDLE_ID = 'com.example.simapp';
const PHONE_APP_UUID = '5B1E1C4A-2F7D-4E7B-9A51-0C9D1F7E2A11';
const PHONE_FOLDER = `/var/mobile/Containers/Data/Application/${PHONE_APP_UUID}/Library/Application Support/sonar/`;

describe('an iOS app in a simulator, end to end', () => {
  let keys: CryptoKeyPair;
  let dir: string;
  let cleanup: () => Promise<void>;
  let sims: CoreSimulatorFixture;
  let udid: string;
  let container: string;
  let host: TestHost | undefined;
  const clients: FlipperClient[] = [];

  const startHost = (deviceTransports: string[]) =>
    startTestHost(dir, (config) => {
      config.plugins.deviceTransports = deviceTransports;
      config.pluginOptions['ios-simulator'] = { devicesRoot: sims.root };
      config.pluginOptions['fake-physical-ios'] = { applicationsFolder: join(dir, 'iphone') };
      // No usbmuxd on the test machine: the physical-iPhone transport must say so.
      config.pluginOptions['ios-physical'] = { usbmuxdSocket: `unix:${join(dir, 'no-usbmuxd')}` };
    });
  const simulatorApp = () => {
    const client = new FlipperClient({
      appId: BUNDLE_ID,
      appName: 'Sim Demo',
      os: 'iOS',
      device: 'iPhone 15 Simulator',
      stateDir: join(container, 'Library', 'Application Support', 'sonar'),
      host: '127.0.0.1',
      ports: host!.ports,
      plugins: [demoPlugin()],
      reconnectMs: 50,
    });
    clients.push(client);
    return client;
  };
  const signRequest = (csr: string, destination: string) => JSON.stringify({ method: 'signCertificate', csr, destination, medium: 1 });
  const iosSetup = (device: string) => SETUP({ os: 'iOS', device, app: 'Raw iOS' });

  before(async () => {
    keys = await generateRsaKeyPair();
  });
  beforeEach(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-e2e-ios-'));
    sims = await CoreSimulatorFixture.create(join(dir, 'CoreSimulator', 'Devices'));
    await sims.addSimulator({ name: 'iPhone SE (3rd generation)', runtime: 'iOS-16-4', state: 'Shutdown', format: 'xml' });
    udid = await sims.addSimulator({ name: 'iPhone 15', runtime: 'iOS-17-2', state: 'Booted', format: 'binary' });
    await sims.addApp(udid, 'com.example.neighbour', 'xml');
    container = await sims.addApp(udid, BUNDLE_ID, 'binary');
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.stop();
    await host?.stop();
    host = undefined;
    await cleanup();
  });

  it('exchanges into the app container, connects over mutual TLS with the UDID as device id, and registers', async () => {
    host = await startHost([SIMULATOR_PLUGIN, PHYSICAL_PLUGIN]);
    const client = simulatorApp();
    const exchanged = new Promise<{ deviceId: unknown }>((resolve) => client.once('exchanged', resolve));
    client.start();
    assert.deepEqual(await exchanged, { deviceId: udid });
    assert.deepEqual((await readdir(client.state.path)).sort(), ['app.csr', 'connection_config.json', 'device.crt', 'privateKey.pem', 'sonarCA.crt']);

    const session = await eventually(() => onlyClient(host!.registry), 'the simulator app to register');
    assert.equal(session.id, `Sim%20Demo#iOS#iPhone 15 Simulator#${udid}`);
    assert.equal(session.appId, BUNDLE_ID);
    assert.deepEqual(await session.call('demo', 'echo', { from: 'simulator' }), { from: 'simulator' });
    const done = host.logger.records.find((r) => r.message === 'certificate exchange completed');
    assert.equal(done?.fields.transport, 'ios-simulator');
    assert.equal(done?.fields.deviceId, udid);
  });

  it('refuses over the exchange port, writing nothing, a CSR for another app sent with this container', async () => {
    host = await startHost([SIMULATOR_PLUGIN, PHYSICAL_PLUGIN]);
    const folder = join(container, 'Library', 'Application Support', 'sonar');
    const csr = await createCsr('com.example.intruder', keys);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'app.csr'), csr);
    const before = await snapshotTree(dir);
    await assert.rejects(rawExchange(host.ports.insecure, iosSetup('iPhone 15 Simulator'), signRequest(csr, folder + '/')), /data container of com\.example\.simapp, but the CSR names com\.example\.intruder/);
    assert.deepEqual(await snapshotTree(dir), before);
  });

  it('answers a physical iPhone with a clear error and writes nothing when usbmuxd is not running', async () => {
    host = await startHost([SIMULATOR_PLUGIN, PHYSICAL_PLUGIN]);
    const before = await snapshotTree(dir);
    await assert.rejects(rawExchange(host.ports.insecure, iosSetup("Ada's iPhone"), signRequest(await createCsr('com.example.phoneapp', keys), PHONE_FOLDER)), (error: Error) => {
      assert.match(error.message, /usbmuxd is not running \(there is no usbmuxd socket at/);
      assert.match(error.message, /USBMUXD_SOCKET_ADDRESS/);
      return true;
    });
    assert.deepEqual(await snapshotTree(dir), before);
    const failed = host.logger.records.find((r) => r.message === 'certificate exchange failed');
    assert.equal(failed?.fields.kind, 'device-unavailable');
  });

  it('completes the exchange through a physical-iOS transport loaded from the config by module path', async () => {
    host = await startHost([FAKE_PHYSICAL_PLUGIN, SIMULATOR_PLUGIN, PHYSICAL_PLUGIN]);
    const onPhone = join(dir, 'iphone', PHONE_APP_UUID, 'Library', 'Application Support', 'sonar');
    await mkdir(onPhone, { recursive: true });
    const csr = await createCsr('com.example.phoneapp', keys);
    await writeFile(join(onPhone, 'app.csr'), csr);

    const answer = await rawExchange(host.ports.insecure, iosSetup("Ada's iPhone"), signRequest(csr, PHONE_FOLDER));
    assert.deepEqual(JSON.parse(answer.data ?? ''), { deviceId: FAKE_IPHONE_UDID });
    assert.deepEqual((await readdir(onPhone)).sort(), ['app.csr', 'device.crt', 'sonarCA.crt']);

    // The certificates it carried are good for the secure port, as the phone app would use them.
    const material = { key: await exportPkcs1PrivateKeyPem(keys.privateKey), cert: await readFile(join(onPhone, 'device.crt'), 'utf8'), ca: await readFile(join(onPhone, 'sonarCA.crt'), 'utf8') };
    const secureSetup = SETUP({ os: 'iOS', device: "Ada's iPhone", app: 'Phone App', device_id: FAKE_IPHONE_UDID, csr, csr_path: PHONE_FOLDER });
    assert.equal((await rawSecureAttempt(host.ports.secure, material, secureSetup)).accepted, true);

    // The simulator slot is untouched by the swap: its requests still reach ios-simulator.
    const client = simulatorApp();
    const exchanged = new Promise<{ deviceId: unknown }>((resolve) => client.once('exchanged', resolve));
    client.start();
    assert.deepEqual(await exchanged, { deviceId: udid });
    const transports = host.logger.records.filter((r) => r.message === 'certificate exchange completed').map((r) => r.fields.transport);
    assert.deepEqual(transports, ['fake-physical-ios', 'ios-simulator']);
  });
});
