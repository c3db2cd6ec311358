import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ClientPlugin } from '../../../src/client/client-plugin.js';
import { FlipperClient } from '../../../src/client/flipper-client.js';
import { demoPlugin } from '../../helpers/demo-plugin.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost, withApi } from '../../helpers/test-host.js';

interface Reply {
  status: number;
  body: string;
  json: () => Record<string, unknown>;
}

function request(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, json: () => JSON.parse(body) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A plugin whose `hang` never answers, so calls stay pending until they time out or the app leaves. */
function hangingPlugin(): ClientPlugin & { calls: number } {
  const plugin = {
    id: 'slow',
    runInBackground: true,
    calls: 0,
    receivers: {
      hang: () => {
        plugin.calls++;
        return new Promise(() => undefined);
      },
    },
  };
  return plugin;
}

/** The API's edges (issue 13, item 9): where the token may travel, what is logged, and one status per failure. */
describe('the HTTP API at its edges', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let token: string;
  let client: FlipperClient;
  const slow = hangingPlugin();
  const auth = () => ({ authorization: `Bearer ${token}` });
  const callPath = () => `/api/clients/${encodeURIComponent(onlyClient(host.registry)!.id)}/call`;
  const hang = (timeoutMs?: number) => JSON.stringify({ method: 'execute', params: { api: 'slow', method: 'hang' }, timeoutMs });

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, (config) => {
      withApi(config);
      config.limits.maxPendingRequests = 3;
    });
    token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
    client = new FlipperClient({
      appId: 'com.example.edges', appName: 'Edges', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin(), slow], reconnectMs: 50,
    });
    client.start();
    await eventually(() => onlyClient(host.registry), 'the client');
  });
  after(async () => {
    await client.stop();
    await host.stop();
    await cleanup();
  });

  it('takes ?token= only on the event stream, never on other routes', async () => {
    const port = host.apiPort!;
    const clients = await request(port, `/api/clients?token=${token}`);
    assert.equal(clients.status, 401);
    assert.equal(clients.json().kind, 'unauthorized');
    assert.equal((await request(port, `/api/health?token=${token}`)).status, 401);
    assert.equal((await request(port, `${callPath()}?token=${token}`, { method: 'POST', body: '{"method":"getPlugins"}' })).status, 401);
    const events = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/api/events?token=${token}` }, resolve);
      req.on('error', reject);
    });
    assert.equal(events.statusCode, 200);
    events.destroy();
  });

  it('answers 400 for a malformed % in a client id, and never logs the token', async () => {
    const before = host.logger.records.length;
    const reply = await request(host.apiPort!, `/api/clients/%E0%A4%A/call?token=${token}`, { method: 'POST', headers: auth(), body: '{"method":"getPlugins"}' });
    assert.equal(reply.status, 400);
    assert.equal(reply.json().kind, 'bad-request');
    assert.match(String(reply.json().error), /client id .* not valid percent-encoding/);
    const logged = JSON.stringify(host.logger.records.slice(before));
    assert.ok(!logged.includes(token), 'the token must never reach a log line');
    assert.equal((await request(host.apiPort!, '/api/health', { headers: auth() })).status, 200, 'the API keeps serving');
  });

  it('gives a timeout 504 with kind "timeout"', async () => {
    const reply = await request(host.apiPort!, callPath(), { method: 'POST', headers: auth(), body: hang(100) });
    assert.equal(reply.status, 504);
    assert.equal(reply.json().kind, 'timeout');
  });

  it('gives "too many pending" 429 with kind "too-many-pending"', async () => {
    const port = host.apiPort!;
    const already = slow.calls;
    const waiting = [1, 2, 3].map(() => request(port, callPath(), { method: 'POST', headers: auth(), body: hang(5_000) }));
    await eventually(() => slow.calls === already + 3, 'the three calls to reach the app');
    const refused = await request(port, callPath(), { method: 'POST', headers: auth(), body: hang(5_000) });
    assert.equal(refused.status, 429);
    assert.equal(refused.json().kind, 'too-many-pending');
    assert.deepEqual((await Promise.all(waiting)).map((r) => r.status), [504, 504, 504]);
  });

  it('forbids framing on the dashboard and on every API answer (X-Frame-Options, CSP frame-ancestors)', async () => {
    for (const [path, headers] of [['/', {}], ['/index.html', {}], ['/api/health', auth()], ['/api/nope', auth()]] as const) {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: host.apiPort!, path, headers }, resolve);
        req.on('error', reject);
      });
      res.resume();
      assert.equal(res.headers['x-frame-options'], 'DENY', path);
      assert.equal(res.headers['content-security-policy'], "frame-ancestors 'none'", path);
    }
  });

  it('answers 400 with a message for malformed JSON and for JSON nested too deeply, not a 500', async () => {
    const path = callPath();
    const malformed = await request(host.apiPort!, path, { method: 'POST', headers: auth(), body: '{"method": "getPlugins",' });
    assert.equal(malformed.status, 400);
    assert.match(String(malformed.json().error), /not valid JSON/);
    // Parsing copes with this depth; sending it on to the app (JSON.stringify recurses) would overflow the stack.
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const reply = await request(host.apiPort!, path, { method: 'POST', headers: auth(), body: `{"method":"execute","params":{"api":"demo","method":"echo","params":${deep}}}` });
    assert.equal(reply.status, 400, reply.body.slice(0, 200));
    assert.equal(reply.json().kind, 'bad-request');
    assert.match(String(reply.json().error), /nests deeper than 256 levels/);
    const shallow = '['.repeat(200) + ']'.repeat(200);
    const fine = await request(host.apiPort!, path, { method: 'POST', headers: auth(), body: `{"method":"execute","params":{"api":"demo","method":"echo","params":${shallow}}}` });
    assert.equal(fine.status, 200, fine.body.slice(0, 200));
    assert.equal((await request(host.apiPort!, '/api/health', { headers: auth() })).status, 200, 'the API keeps serving');
  });

  it('gives "disconnected" 503 with kind "client-disconnected" when the app leaves during a call', async () => {
    const path = callPath();
    const already = slow.calls;
    const pending = request(host.apiPort!, path, { method: 'POST', headers: auth(), body: hang(20_000) });
    await eventually(() => slow.calls === already + 1, 'the call to reach the app');
    await client.stop();
    const reply = await pending;
    assert.equal(reply.status, 503);
    assert.equal(reply.json().kind, 'client-disconnected');
  });

});
