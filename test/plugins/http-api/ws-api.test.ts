import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { type ClientPlugin } from '../../../src/client/client-plugin.js';
import { FlipperClient } from '../../../src/client/flipper-client.js';
import { type ApiAnswerError, type ApiEvent, HostApiClient } from '../../../src/cli/host-api-client.js';
import { HttpApiService } from '../../../src/plugins/http-api/http-api-service.js';
import { demoPlugin } from '../../helpers/demo-plugin.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withApi } from '../../helpers/test-host.js';

const IN_FLIGHT = 200;

/** Answers `gate` only once IN_FLIGHT calls are waiting: proof that they were all in flight at once. */
function gatePlugin(): ClientPlugin {
  const release: Array<() => void> = [];
  return {
    id: 'gate',
    runInBackground: true,
    receivers: {
      gate: (params) =>
        new Promise((resolve) => {
          release.push(() => resolve(params));
          if (release.length === IN_FLIGHT) for (const go of release) go();
        }),
    },
  };
}

function upgradeStatus(url: string, options: { headers?: Record<string, string>; origin?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    ws.once('error', (error) => (error.message.includes('Unexpected server response') ? undefined : reject(error)));
  });
}

/** The multiplexed WebSocket API for tools (issue 14, item 4). */
describe('the WebSocket API', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let token: string;
  let wsUrl: string;
  let app: FlipperClient;
  const demo = demoPlugin();

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withApi);
    token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
    wsUrl = `ws://127.0.0.1:${host.apiPort}/api/ws`;
    app = new FlipperClient({
      appId: 'com.example.ws', appName: 'Ws App', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demo, gatePlugin()], reconnectMs: 50,
    });
    app.start();
    await eventually(() => demo.connection, 'the app');
  });
  after(async () => {
    await app.stop();
    await host.stop();
    await cleanup();
  });

  it('takes the same token and origin rules as HTTP', async () => {
    assert.equal(await upgradeStatus(wsUrl, {}), 401);
    assert.equal(await upgradeStatus(wsUrl, { headers: { authorization: 'Bearer ' + '0'.repeat(64) } }), 401);
    assert.equal(await upgradeStatus(wsUrl, { headers: { authorization: `Bearer ${token}` }, origin: 'http://evil.example' }), 403);
    assert.equal(await upgradeStatus(wsUrl, { headers: { authorization: `Bearer ${token}`, host: 'evil.example' } }), 403);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${host.apiPort}/api/other`, { headers: { authorization: `Bearer ${token}` } }), 404);
    assert.equal(await upgradeStatus(`${wsUrl}?token=${token}`, { origin: `http://127.0.0.1:${host.apiPort}` }), 101, 'the dashboard: its own origin, token in the query');
  });

  it(`carries ${IN_FLIGHT} calls in flight on one connection, each answer matched to its id`, async () => {
    const api = await HostApiClient.connect(wsUrl, token);
    try {
      const answers = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => api.call('Ws App', 'execute', { api: 'gate', method: 'gate', params: { i } }, 30_000)));
      assert.deepEqual(answers, Array.from({ length: IN_FLIGHT }, (_, i) => ({ i })));
    } finally {
      api.close();
    }
  });

  it('answers errors with the same kinds as HTTP, and survives bad messages', async () => {
    const api = await HostApiClient.connect(wsUrl, token);
    try {
      await assert.rejects(api.call('Nobody', 'getPlugins'), (e: ApiAnswerError) => e.kind === 'no-such-client' && Array.isArray(e.body.candidates));
      await assert.rejects(api.call('Ws App', 'execute', { api: 'demo', method: 'fail' }), (e: ApiAnswerError) => e.kind === 'app-error' && /asked to fail/.test(JSON.stringify(e.body.error)));
      await assert.rejects(api.request('nonsense'), (e: ApiAnswerError) => e.kind === 'bad-request');
      const raw = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } });
      await new Promise((resolve) => raw.once('open', resolve));
      const replies: unknown[] = [];
      raw.on('message', (d) => replies.push(JSON.parse(d.toString())));
      raw.send('not json');
      raw.send('{"type":"clients"}');
      raw.send(Buffer.from([1, 2, 3]), { binary: true });
      // Params nested past the depth limit: JSON.stringify on the way to the app would overflow the stack.
      raw.send(`{"id":"deep","type":"call","client":"Ws App","method":"execute","params":{"api":"demo","method":"echo","params":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
      await eventually(() => replies.length === 4, 'four error answers');
      assert.deepEqual(replies.map((r) => (r as { kind: string; id: unknown }).kind), ['bad-request', 'bad-request', 'bad-request', 'bad-request']);
      assert.match(String((replies[3] as { error: string }).error), /at most 256 levels/);
      raw.close();
      const clients = await api.clients();
      assert.equal(clients[0]!.app, 'Ws App', 'the API keeps serving');
    } finally {
      api.close();
    }
  });

  it('delivers recent and live events to a subscription, filtered by client and plugin', async () => {
    demo.connection!.send('before', { n: 0 });
    await eventually(() => host.container.get(HttpApiService).feed.recent().some((f) => f.json.includes('"method":"before"')), 'the event in the ring');
    const api = await HostApiClient.connect(wsUrl, token);
    try {
      const seen: ApiEvent[] = [];
      await api.subscribe({ client: 'com.example.ws', plugin: 'demo', recent: true }, (e) => seen.push(e));
      demo.connection!.send('after', { n: 1 });
      await eventually(() => seen.some((e) => e.method === 'after'), 'the live event');
      assert.ok(seen.some((e) => e.method === 'before'), 'the event from before the subscription');
      assert.ok(seen.every((e) => e.type === 'plugin-event' && e.plugin === 'demo'));
    } finally {
      api.close();
    }
  });

  it('drops a connection that stops reading, with one log line, while another gets every event', async () => {
    const service = host.container.get(HttpApiService);
    const reading = await HostApiClient.connect(wsUrl, token);
    let seen = 0;
    await reading.subscribe({ plugin: 'demo' }, (e) => void (e.method === 'flood' && seen++));
    const stalled = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve) => stalled.once('open', resolve));
    let stalledClosed = false;
    stalled.once('close', () => (stalledClosed = true));
    stalled.send(JSON.stringify({ id: 1, type: 'subscribe' }));
    await eventually(() => service.feed.readerCount >= 2, 'both subscriptions');
    stalled.pause();

    const payload = 'x'.repeat(8 * 1024);
    const total = 3_000;
    for (let i = 0; i < total; i++) {
      demo.connection!.send('flood', { i, payload });
      if (i % 50 === 49) await eventually(() => seen >= i + 1 - 50, 'the reading connection to keep up', 30_000);
    }
    await eventually(() => seen === total, `all ${total} events at the reading connection`, 60_000);
    const drops = host.logger.records.filter((r) => r.message === 'dropped a WebSocket API connection that fell behind');
    assert.equal(drops.length, 1);
    stalled.resume();
    await eventually(() => stalledClosed, 'the stalled connection to be closed');
    assert.equal(service.wsApi.connectionCount, 1);
    reading.close();
    await eventually(() => service.wsApi.connectionCount === 0, 'the closed connection to be released');
  });
});
