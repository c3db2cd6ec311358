import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { FileCertificateStore } from '../../src/plugins/file-certificate-store/file-certificate-store.js';
import { ManualClock, MemoryLogger, testConfig } from '../helpers/fakes.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost } from '../helpers/test-host.js';

describe('a desktop app over RSocket, end to end', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost | undefined;
  const clients: FlipperClient[] = [];

  const newClient = (name = 'app', options: Partial<ConstructorParameters<typeof FlipperClient>[0]> = {}) => {
    const client = new FlipperClient({
      appId: 'com.example.desktop',
      appName: 'Desktop Demo',
      os: 'Linux',
      device: 'workstation',
      stateDir: join(dir, name, 'sonar'),
      host: '127.0.0.1',
      ports: host!.ports,
      plugins: [demoPlugin()],
      reconnectMs: 50,
      ...options,
    });
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.stop();
    await host?.stop();
    await cleanup();
  });

  it('exchanges certificates, connects over mutual TLS, and round-trips getPlugins, execute and events', async () => {
    const client = newClient();
    const exchanged = new Promise<{ deviceId: unknown }>((resolve) => client.once('exchanged', resolve));
    client.start();
    assert.deepEqual(await exchanged, { deviceId: '' });
    assert.deepEqual((await readdir(client.state.path)).sort(), ['app.csr', 'connection_config.json', 'device.crt', 'privateKey.pem', 'sonarCA.crt']);

    const session = await eventually(() => onlyClient(host!.registry), 'the client to register');
    assert.equal(session.id, 'Desktop%20Demo#Linux#workstation#');
    assert.equal(session.appId, 'com.example.desktop');
    assert.deepEqual(session.plugins(), ['demo']);
    assert.deepEqual(session.backgroundPlugins(), ['demo']);
    assert.equal(host!.handler.connected[0], session);

    // The host inits the background plugin its handler claims; the plugin answers with an event.
    const ready = await eventually(() => host!.handler.events.find((e) => e.event.method === 'ready'), 'the ready event');
    assert.deepEqual(ready.event, { plugin: 'demo', method: 'ready', params: { plugin: 'demo' } });

    assert.deepEqual(await session.call('demo', 'echo', { n: 1, s: 'ü' }), { n: 1, s: 'ü' });
    assert.equal(await session.isMethodSupported('demo', 'echo'), true);
    assert.equal(await session.isMethodSupported('demo', 'nope'), false);
    await assert.rejects(session.call('demo', 'fail'), /asked to fail/);
    await assert.rejects(session.call('missing', 'echo'), /Connection missing not found for method execute/);
    await assert.rejects(session.request('bogus'), /Received unknown method: bogus/);

    client.send('demo', 'tick', { at: 1 });
    await eventually(() => host!.handler.events.find((e) => e.event.method === 'tick'), 'the tick event');

    await client.stop();
    await eventually(() => host!.registry.list().length === 0, 'the client to be removed');
    assert.equal(host!.handler.disconnected[0], session);
  });

  it('heals through a fresh exchange when the host comes back with a new CA', async () => {
    const client = newClient();
    client.start();
    await eventually(() => onlyClient(host!.registry), 'the first connection');
    assert.equal(client.exchanges, 1);
    const problems: string[] = [];
    client.on('problem', (message: string) => problems.push(message));

    const ports = host!.ports;
    await host!.stop();
    const rotated = new FileCertificateStore(testConfig({ certDir: host!.config.certDir }), new ManualClock(), new MemoryLogger());
    await rotated.prepare();
    await rotated.rotateCertificateAuthority('test');
    host = await startTestHost(dir, (config) => (config.ports = ports));

    const session = await eventually(() => onlyClient(host!.registry), 'the reconnection after the CA rotation');
    assert.equal(client.exchanges, 2, 'exactly one fresh exchange healed the client');
    assert.ok(problems.filter((p) => /Failed attempts: [12]/.test(p)).length >= 2, problems.join('\n'));
    assert.deepEqual(await session.call('demo', 'echo', 'healed'), 'healed');
  });

  it('serves a legacy SDK (sdk_version 0) with fire-and-forget requests carrying ids', async () => {
    const client = newClient('legacy', { sdkVersion: 0 });
    client.start();
    const session = await eventually(() => onlyClient(host!.registry), 'the legacy client to register');
    assert.deepEqual(session.plugins(), ['demo']);
    assert.deepEqual(session.backgroundPlugins(), [], 'sdk_version < 4 is not asked for background plugins');
    await assert.rejects(session.call('demo', 'echo', [1, 2]), /Connection demo not found/, 'not initialised yet');
    session.init('demo');
    assert.deepEqual(await session.call('demo', 'echo', [1, 2]), [1, 2]);
  });
});
