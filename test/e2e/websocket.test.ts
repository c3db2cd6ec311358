import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { FlipperClient, type FlipperClientOptions } from '../../src/client/flipper-client.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { x509 } from '../../src/core/x509/peculiar-x509.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { ManualClock } from '../helpers/fakes.js';
import { type TestHost, eventually, onlyClient, startTestHost, withWebSocket } from '../helpers/test-host.js';

interface JsFlipperConnection {
  send(method: string, params?: unknown): void;
  receive(method: string, receiver: (params: unknown) => unknown): void;
}
interface JsFlipperClient {
  addPlugin(plugin: { getId(): string; onConnect(c: JsFlipperConnection): void; onDisconnect(): void; runInBackground?(): boolean }): void;
  start(app: string, options: { urlBase: string; websocketFactory: (url: string) => unknown; getDeviceId: () => string; onError: (e: unknown) => void }): Promise<void>;
  stop(): void;
}

describe('the WebSocket transport', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  const clients: FlipperClient[] = [];

  const newClient = (name: string, options: Partial<FlipperClientOptions> = {}) => {
    const client = new FlipperClient({
      appId: 'com.example.ws', appName: 'WS Demo', os: 'Linux', device: name, stateDir: join(dir, name, 'sonar'),
      host: '127.0.0.1', transport: 'websocket', ports: { insecure: host.wsPorts.insecure!, secure: host.wsPorts.secure! },
      plugins: [demoPlugin()], reconnectMs: 50, ...options,
    });
    clients.push(client);
    return client;
  };
  const session = (device: string) => host.registry.list().find((s) => s.query.device === device);

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withWebSocket);
  });
  after(async () => {
    for (const client of clients) await client.stop();
    await host.stop();
    await cleanup();
  });

  it('serves the client SDK in WebSocket mode: exchange, secure connection, plugin protocol', async () => {
    const client = newClient('ws-box');
    const exchanged = new Promise<{ deviceId: unknown }>((resolve) => client.once('exchanged', resolve));
    client.start();
    assert.deepEqual(await exchanged, { deviceId: '' });
    const s = await eventually(() => session('ws-box'), 'the WebSocket client to register');
    assert.equal(s.id, 'WS%20Demo#Linux#ws-box#');
    assert.equal(s.appId, 'com.example.ws');
    assert.deepEqual(s.plugins(), ['demo']);
    assert.deepEqual(await s.call('demo', 'echo', { over: 'websocket' }), { over: 'websocket' });
    await assert.rejects(s.request('bogus'), /Received unknown method: bogus/);
    await eventually(() => host.handler.events.find((e) => e.client === s.id && e.event.method === 'ready'), 'the ready event');
  });

  it('serves RSocket and WebSocket clients of the same app side by side, through the same handlers', async () => {
    const rsocket = newClient('rsocket-box', { transport: 'rsocket', ports: host.ports });
    const ws = newClient('ws-box-2');
    rsocket.start();
    ws.start();
    const [a, b] = await eventually(() => (session('rsocket-box') && session('ws-box-2') ? [session('rsocket-box')!, session('ws-box-2')!] : undefined), 'both clients');
    assert.deepEqual([await a.call('demo', 'echo', 1), await b.call('demo', 'echo', 2)], [1, 2]);
    assert.ok(host.handler.connected.includes(a) && host.handler.connected.includes(b));
  });

  it('answers a failed exchange with {} and logs why', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${host.wsPorts.insecure}?os=MacOS&device=d&app=Bad&device_id=unknown&medium=1`);
    await once(socket, 'open');
    socket.send(JSON.stringify({ method: 'signCertificate', csr: 'nope', destination: '/tmp/', medium: 1 }));
    const [reply] = (await once(socket, 'message')) as [Buffer];
    assert.equal(reply.toString(), '{}');
    socket.close();
    assert.ok(host.logger.records.some((r) => r.message === 'certificate exchange failed' && r.fields.app === 'Bad'));
  });

  it('closes a connection whose query lacks the identity with 1011', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${host.wsPorts.insecure}/?device=d`);
    const [code] = (await once(socket, 'close')) as [number];
    assert.equal(code, 1011);
  });

  it('applies the Origin rule on the browser port: missing and foreign are 401, loopback hosts are accepted', async () => {
    const status = async (origin?: string) => {
      const socket = new WebSocket(`ws://127.0.0.1:${host.wsPorts.browser}?app=Web&device=browser&os=Browser&device_id=b1`, origin ? { origin } : {});
      socket.on('error', () => undefined);
      const result = await Promise.race([
        once(socket, 'open').then(() => 101),
        once(socket, 'unexpected-response').then(([, response]) => (response as { statusCode: number }).statusCode),
      ]);
      socket.terminate();
      return result;
    };
    assert.equal(await status(), 401);
    assert.equal(await status('http://evil.example'), 401);
    assert.equal(await status('http://localhost:1@evil.example'), 401);
    // Upstream's prefix rule refuses a page on 127.0.0.1; the host is loopback all the same.
    assert.equal(await status('http://127.0.0.1:3000'), 101);
    assert.equal(await status('http://localhost:3000'), 101);
    assert.equal(await status('localhost:'), 101);
  });

  it('keeps serving a client that sends malformed frames, and the other clients too', async () => {
    const client = newClient('noisy');
    client.start();
    await eventually(() => session('noisy'), 'the noisy client');
    // A second, hand-driven connection with the same certificate (as another instance of the app).
    const material = await client.state.readSecureMaterial();
    const csr = Buffer.from(material.csr).toString('base64');
    const raw = new WebSocket(`wss://127.0.0.1:${host.wsPorts.secure}?os=Linux&device=raw&app=WS+Demo&device_id=&csr=${csr}&csr_path=${encodeURIComponent(client.state.path)}`, {
      key: material.key, cert: material.cert, ca: material.ca, rejectUnauthorized: false,
    });
    raw.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number };
      if (typeof message.id === 'number') raw.send(JSON.stringify({ id: message.id, success: { plugins: [] } }));
    });
    await once(raw, 'open');
    const rawSession = await eventually(() => session('raw'), 'the hand-driven client to register');
    raw.send('{not json');
    raw.send('[1,2,3]');
    raw.send(JSON.stringify({ method: 'execute', params: 'no api' }));
    raw.send(JSON.stringify({ id: 99999, success: 'an answer nobody asked for' }));
    assert.deepEqual(await rawSession.request('getPlugins'), { plugins: [] }, 'the noisy connection is still served');
    assert.deepEqual(await session('noisy')!.call('demo', 'echo', 'ok'), 'ok', 'and so is everyone else');
    assert.ok(host.logger.messages('warn').includes('ignored a malformed message from the app'));
    raw.close();
  });

  it('serves js-flipper from npm on the browser port: getPlugins, init, execute and events', async () => {
    const jsFlipper = (await import('js-flipper')) as unknown as { FlipperClient: new () => JsFlipperClient };
    const flipper = new jsFlipper.FlipperClient();
    const received: unknown[] = [];
    flipper.addPlugin({
      getId: () => 'sea-mammals',
      onConnect(connection) {
        connection.send('newRow', { id: 1, title: 'Otter' });
        connection.receive('ping', (params) => ({ pong: params }));
      },
      onDisconnect: () => received.push('disconnected'),
      runInBackground: () => true,
    });
    await flipper.start('NodeDemo', {
      urlBase: `127.0.0.1:${host.wsPorts.browser}`,
      websocketFactory: (url) => new WebSocket(url, { origin: 'http://localhost:8333' }),
      getDeviceId: () => 'node-box',
      onError: (error) => received.push(error),
    });
    try {
      const s = await eventually(() => host.registry.list().find((c) => c.query.app === 'NodeDemo'), 'js-flipper to register');
      assert.equal(s.query.medium, 3, 'browser clients do no certificate exchange (medium NONE)');
      assert.deepEqual(s.plugins(), ['sea-mammals']);
      assert.deepEqual(s.backgroundPlugins(), ['sea-mammals']);
      const row = await eventually(() => host.handler.events.find((e) => e.client === s.id && e.event.method === 'newRow'), 'the newRow event after init');
      assert.deepEqual(row.event.params, { id: 1, title: 'Otter' });
      assert.deepEqual(await s.call('sea-mammals', 'ping', { n: 7 }), { pong: { n: 7 } });
      assert.equal(await s.isMethodSupported('sea-mammals', 'ping'), true);
      await assert.rejects(s.request('bogus'), /Received unknown method: bogus/);
    } finally {
      flipper.stop();
    }
  });

  it('sends the chain [server, CA], both issued within the last 30 days', async () => {
    const { stdout } = await promisify(execFile)('openssl', ['s_client', '-connect', `127.0.0.1:${host.wsPorts.secure}`, '-showcerts'], { timeout: 10_000 }).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
    const certs = stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    assert.equal(certs.length, 2, stdout);
    const [server, ca] = certs.map((pem) => new x509.X509Certificate(pem));
    assert.match(server!.subject, /CN=localhost/);
    assert.match(ca!.subject, /CN=SonarCA/);
    for (const c of [server!, ca!]) assert.ok(Date.now() - c.notBefore.getTime() < 30 * 86_400_000);
  });

  it('keeps device certificates valid across the 25-day CA certificate renewal (same key)', async () => {
    const own = await makeTempDir();
    try {
      const past = new ManualClock();
      past.advanceDays(-26);
      const before = await startTestHost(own.path, withWebSocket, [], past);
      const ports = before.wsPorts;
      const client = new FlipperClient({
        appId: 'com.example.renewal', appName: 'Renewal', os: 'Linux', device: 'r', stateDir: join(own.path, 'app', 'sonar'),
        host: '127.0.0.1', transport: 'websocket', ports: { insecure: ports.insecure!, secure: ports.secure! }, plugins: [demoPlugin()], reconnectMs: 50,
      });
      try {
        client.start();
        await eventually(() => onlyClient(before.registry), 'the first connection');
        await before.stop();
        const after = await startTestHost(own.path, (c) => {
          withWebSocket(c);
          c.webSocket = { insecure: ports.insecure!, secure: ports.secure!, browser: false };
        });
        try {
          assert.ok(after.logger.messages('info').some((m) => m.startsWith('re-issued the CA certificate: it was issued more than 25 days ago')));
          const s = await eventually(() => onlyClient(after.registry), 'the reconnection with the old device certificate');
          assert.equal(client.exchanges, 1, 'no new exchange was needed');
          assert.deepEqual(await s.call('demo', 'echo', 'still valid'), 'still valid');
        } finally {
          await client.stop();
          await after.stop();
        }
      } finally {
        await client.stop();
      }
    } finally {
      await own.cleanup();
    }
  });

  it('writes nothing for an exchange whose desktop folder does not hold the CSR', async () => {
    const folder = join(dir, 'victim', 'sonar');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'app.csr'), 'someone else');
    const socket = new WebSocket(`ws://127.0.0.1:${host.wsPorts.insecure}?os=Linux&device=d&app=Intruder&device_id=unknown`);
    await once(socket, 'open');
    socket.send(JSON.stringify({ method: 'signCertificate', csr: await createCsr('com.example.intruder', await generateRsaKeyPair()), destination: folder + '/', medium: 1 }));
    const [reply] = (await once(socket, 'message')) as [Buffer];
    assert.equal(reply.toString(), '{}');
    socket.close();
    assert.deepEqual(await readdir(folder), ['app.csr']);
  });
});
