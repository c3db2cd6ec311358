import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { FakePeertalkApp } from '../helpers/fake-usbmux/fake-peertalk-app.js';
import { type FakeIphone } from '../helpers/fake-usbmux/fake-iphone.js';
import { FakeUsbWorld } from '../helpers/fake-usbmux/fake-usb-world.js';
import { type PairingMaterial, createPairing } from '../helpers/fake-usbmux/pair-record.js';
import { freePorts } from '../helpers/free-ports.js';
import { SETUP, rawExchange } from '../helpers/raw-rsocket.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost } from '../helpers/test-host.js';

const BUNDLE = 'com.example.phoneapp';
const UDID = '00008110-000A1B2C3D4E5F60';

/**
 * An app "on a physical iPhone": the project's client SDK plays the app, its localhost connections are
 * carried by a fake FlipperKit port forwarding server over Peertalk channels that sonarhost dials through
 * a fake usbmuxd; certificates travel through fake lockdownd (TLS session), house_arrest and AFC.
 */
describe('an iOS app on a physical iPhone over usbmux, end to end', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pairing: PairingMaterial;
  let world: FakeUsbWorld;
  let phone: FakeIphone;
  let app: FakePeertalkApp | undefined;
  let host: TestHost | undefined;
  const clients: FlipperClient[] = [];

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-e2e-iphone-'));
    pairing = await createPairing(dir);
  });
  after(async () => cleanup());
  beforeEach(async () => {
    world = await FakeUsbWorld.start((await makeTempDir('sonarhost-usb-')).path);
    phone = world.phone(UDID, "Ada's iPhone", pairing);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.stop();
    await app?.stop();
    app = undefined;
    await host?.stop();
    host = undefined;
    await world.stop();
  });

  const startHost = async (transports: 'rsocket' | 'websocket' = 'rsocket') => {
    const [insecure, secure] = await freePorts(2);
    return startTestHost(world.dir, (config) => {
      config.plugins.deviceTransports = ['ios-physical'];
      config.pluginOptions['ios-physical'] = { usbmuxdSocket: world.usbmuxd.address };
      if (transports === 'websocket') {
        config.plugins.transports = ['websocket'];
        config.webSocket = { insecure: insecure!, secure: secure!, browser: false };
      } else {
        config.ports = { insecure: insecure!, secure: secure! };
      }
    });
  };
  // The forwarder dials the channel ports once a second; the client SDK is started once they are up
  // (an app connection that the phone drops for want of a channel is the SDK's retry path, not ours).
  const channelsUp = (...ports: number[]) => eventually(() => ports.every((p) => app!.hasChannel(p)), `channels ${ports.join(', ')} to be dialled`);
  const phoneApp = (installed: { sonarFolder: string; destination: string }, ports: { insecure: number; secure: number }, transport: 'rsocket' | 'websocket' = 'rsocket') => {
    const client = new FlipperClient({
      appId: BUNDLE,
      appName: 'Phone Demo',
      os: 'iOS',
      device: "Ada's iPhone",
      stateDir: installed.sonarFolder,
      reportedStateDir: installed.destination,
      host: '127.0.0.1',
      ports,
      plugins: [demoPlugin()],
      reconnectMs: 100,
      transport,
    });
    clients.push(client);
    return client;
  };

  it('exchanges through house_arrest, connects over mutual TLS through the Peertalk forwarder, answers a plugin call', async () => {
    host = await startHost();
    const installed = await world.install(phone, BUNDLE);
    world.usbmuxd.attach(phone); // after the host started: it learns of the phone through Listen
    app = await FakePeertalkApp.start(phone, [8079, 8078]);
    await channelsUp(8079, 8078);
    const client = phoneApp(installed, { insecure: app.appPort(8079), secure: app.appPort(8078) });
    const exchanged = new Promise<{ deviceId: unknown }>((resolve) => client.once('exchanged', resolve));
    client.start();

    assert.deepEqual(await exchanged, { deviceId: UDID });
    assert.deepEqual((await readdir(installed.sonarFolder)).sort(), ['app.csr', 'connection_config.json', 'device.crt', 'privateKey.pem', 'sonarCA.crt']);
    const session = await eventually(() => onlyClient(host!.registry), 'the phone app to register');
    assert.equal(session.id, `Phone%20Demo#iOS#Ada's iPhone#${UDID}`);
    assert.equal(session.appId, BUNDLE);
    assert.deepEqual(await session.call('demo', 'echo', { from: 'iphone' }), { from: 'iphone' });

    const done = host.logger.records.find((r) => r.message === 'certificate exchange completed');
    assert.equal(done?.fields.transport, 'ios-physical');
    assert.equal(done?.fields.deviceId, UDID);
    assert.ok(phone.afcLog.some((e) => /^rename .*\.tmp -> Library\/Application Support\/sonar\/device\.crt$/.test(e)));
    // Everything went over the emulated USB path: pipes opened by the phone, bytes both ways, closes.
    const seen = (direction: string, channelPort: number, type: number) => app!.frames.some((f) => f.direction === direction && f.channelPort === channelPort && f.type === type);
    for (const channelPort of [8079, 8078]) {
      assert.ok(seen('to-host', channelPort, 201), `pipe opened on ${channelPort}`);
      assert.ok(seen('to-host', channelPort, 202) && seen('from-host', channelPort, 202), `bytes both ways on ${channelPort}`);
    }
    assert.ok(seen('to-host', 8079, 203) || seen('from-host', 8079, 203), 'the exchange pipe was closed');
    assert.ok(world.usbmuxd.connects.filter((p) => p === 8079).length >= 1);

  });

  it('tears the forwarder down on detach and serves the app again after it is plugged back in', async () => {
    host = await startHost();
    const installed = await world.install(phone, BUNDLE);
    world.usbmuxd.attach(phone);
    app = await FakePeertalkApp.start(phone, [8079, 8078]);
    await channelsUp(8079, 8078);
    const client = phoneApp(installed, { insecure: app.appPort(8079), secure: app.appPort(8078) });
    client.start();
    const session = await eventually(() => onlyClient(host!.registry), 'the phone app to register');
    assert.deepEqual(await session.call('demo', 'echo', 1), 1);

    // Unplugged: usbmuxd reports Detached and every connection through the cable drops.
    const disconnected = new Promise((resolve) => client.once('disconnected', resolve));
    world.usbmuxd.detach(phone);
    phone.disconnectAll();
    await disconnected;
    await eventually(() => host!.logger.messages('info').includes('iOS device gone'), 'the host to notice the detach');
    await eventually(() => host!.registry.list().length === 0, 'the session to end');
    const connectsWhileAway = world.usbmuxd.connects.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(world.usbmuxd.connects.length, connectsWhileAway, 'no channel is dialled for a detached phone');
    assert.equal(app.hasChannel(8079), false);

    world.usbmuxd.attach(phone);
    const again = await eventually(() => onlyClient(host!.registry), 'the phone app to register again', 30_000);
    assert.deepEqual(await again.call('demo', 'echo', 2), 2);
    assert.equal(client.exchanges, 1, 'the certificates from the first exchange are reused');
  });

  it('reaches the WebSocket listeners through channel ports 9079/9078', async () => {
    host = await startHost('websocket');
    const installed = await world.install(phone, BUNDLE);
    world.usbmuxd.attach(phone);
    app = await FakePeertalkApp.start(phone, [9079, 9078]);
    await channelsUp(9079, 9078);
    const client = phoneApp(installed, { insecure: app.appPort(9079), secure: app.appPort(9078) }, 'websocket');
    client.start();
    const session = await eventually(() => onlyClient(host!.registry), 'the WebSocket phone app to register');
    assert.equal(session.appId, BUNDLE);
    assert.deepEqual(await session.call('demo', 'echo', { over: 'websocket' }), { over: 'websocket' });
    assert.ok(app.frames.some((f) => f.channelPort === 9078 && f.type === 202 && f.direction === 'from-host'));
  });

  it('answers an exchange with "usbmuxd is not running" when it is gone, and keeps serving', async () => {
    host = await startHost();
    await world.stop();
    const keys = await generateRsaKeyPair();
    const destination = `/var/mobile/Containers/Data/Application/5B1E1C4A-2F7D-4E7B-9A51-0C9D1F7E2A11/Library/Application Support/sonar/`;
    const request = JSON.stringify({ method: 'signCertificate', csr: await createCsr(BUNDLE, keys), destination, medium: 1 });
    await assert.rejects(rawExchange(host.ports.insecure, SETUP({ os: 'iOS', device: "Ada's iPhone", app: 'Raw' }), request), /usbmuxd is not running.*apt install usbmuxd/s);
    // The host is still there for the next app (this one asks again and gets the same clear answer).
    await assert.rejects(rawExchange(host.ports.insecure, SETUP({ os: 'iOS', device: "Ada's iPhone", app: 'Raw' }), request), /usbmuxd is not running/);
    assert.equal(host.logger.records.filter((r) => r.message === 'certificate exchange failed' && r.fields.kind === 'device-unavailable').length, 2);
    world = await FakeUsbWorld.start((await makeTempDir('sonarhost-usb-')).path);
  });
});
