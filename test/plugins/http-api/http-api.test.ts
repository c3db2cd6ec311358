import assert from 'node:assert/strict';
import { stat, readFile } from 'node:fs/promises';
import * as http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../../src/client/flipper-client.js';
import { createCsr } from '../../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../../src/core/x509/webcrypto.js';
import { demoPlugin } from '../../helpers/demo-plugin.js';
import { SETUP, rawExchange } from '../../helpers/raw-rsocket.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost, withApi } from '../../helpers/test-host.js';

interface Reply {
  status: number;
  body: string;
  json: () => unknown;
}

function request(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, json: () => JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the HTTP API', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let token: string;
  let client: FlipperClient;
  const auth = () => ({ authorization: `Bearer ${token}` });

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withApi);
    token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
    client = new FlipperClient({
      appId: 'com.example.api', appName: 'Api Demo', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin()], reconnectMs: 50,
    });
    client.start();
    await eventually(() => onlyClient(host.registry), 'the client');
  });
  after(async () => {
    await client.stop();
    await host.stop();
    await cleanup();
  });

  it('keeps its token in api.token with mode 0600', async () => {
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.equal((await stat(join(host.config.certDir, 'api.token'))).mode & 0o777, 0o600);
  });

  it('refuses requests without the token, with a wrong token, cross-origin, or for a foreign Host', async () => {
    const port = host.apiPort!;
    const none = await request(port, '/api/clients');
    assert.equal(none.status, 401);
    assert.match(none.body, /Authorization: Bearer <token>/);
    assert.equal((await request(port, '/api/clients', { headers: { authorization: 'Bearer ' + '0'.repeat(64) } })).status, 401);
    assert.equal((await request(port, '/api/clients', { headers: { ...auth(), origin: 'http://evil.example' } })).status, 403);
    assert.equal((await request(port, '/api/clients', { headers: { ...auth(), host: 'evil.example:80' } })).status, 403);
    assert.equal((await request(port, '/api/clients', { headers: { ...auth(), origin: `http://127.0.0.1:${port}` } })).status, 200, 'the dashboard\'s own origin is fine');
  });

  it('lists health, clients and recent exchanges', async () => {
    const port = host.apiPort!;
    // The host rounds its uptime when it answers: anything between the uptimes before and after the request is right.
    const earliest = Math.floor(process.uptime());
    const health = (await request(port, '/api/health', { headers: auth() })).json() as { status: string; clients: number; uptimeSeconds: number };
    const latest = Math.ceil(process.uptime());
    assert.deepEqual({ ...health, uptimeSeconds: 0 }, { status: 'ok', clients: 1, uptimeSeconds: 0 });
    assert.ok(health.uptimeSeconds >= earliest && health.uptimeSeconds <= latest, `uptime ${health.uptimeSeconds} outside [${earliest}, ${latest}]`);
    const [c] = (await request(port, '/api/clients', { headers: auth() })).json() as Array<Record<string, unknown>>;
    assert.equal(c!.id, 'Api%20Demo#Linux#box#');
    assert.equal(c!.appId, 'com.example.api');
    assert.deepEqual(c!.plugins, ['demo']);
    assert.equal(typeof c!.connectedSince, 'string');
    const exchanges = (await request(port, '/api/exchanges', { headers: auth() })).json() as Array<Record<string, unknown>>;
    assert.equal(exchanges[0]!.ok, true);
    assert.equal(exchanges[0]!.appId, 'com.example.api');
    assert.equal(typeof exchanges[0]!.durationMs, 'number');
  });

  it('sends a plugin-protocol request to an app and returns its answer', async () => {
    const port = host.apiPort!;
    const id = encodeURIComponent('Api%20Demo#Linux#box#');
    const ok = await request(port, `/api/clients/${id}/call`, { method: 'POST', headers: auth(), body: JSON.stringify({ method: 'execute', params: { api: 'demo', method: 'echo', params: { x: 1 } } }) });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json(), { success: { x: 1 } });
    const appError = await request(port, `/api/clients/${id}/call`, { method: 'POST', headers: auth(), body: JSON.stringify({ method: 'bogus' }) });
    assert.equal(appError.status, 502);
    assert.deepEqual(appError.json(), { kind: 'app-error', error: { message: 'Received unknown method: bogus' } });
    assert.equal((await request(port, `/api/clients/nobody/call`, { method: 'POST', headers: auth(), body: '{"method":"getPlugins"}' })).status, 404);
    assert.equal((await request(port, `/api/clients/${id}/call`, { method: 'POST', headers: auth(), body: 'not json' })).status, 400);
  });

  it('streams exchange, connection and plugin events', async () => {
    const port = host.apiPort!;
    const received: string[] = [];
    const req = http.request({ host: '127.0.0.1', port, path: `/api/events?token=${token}` });
    const response = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve).end());
    assert.equal(response.headers['content-type'], 'text/event-stream');
    response.on('data', (d: Buffer) => received.push(d.toString()));
    await rawExchange(host.ports.insecure, SETUP({ app: 'Broken' }), JSON.stringify({ method: 'signCertificate', csr: await createCsr('com.example.x', await generateRsaKeyPair()), destination: '/nonexistent/', medium: 1 })).catch(() => undefined);
    client.send('demo', 'tick', { n: 1 });
    await eventually(() => received.join('').includes('event: exchange') && received.join('').includes('event: plugin-event'), 'the events');
    const text = received.join('');
    assert.match(text, /event: exchange\ndata: \{"type":"exchange".*"app":"Broken".*"ok":false/);
    assert.match(text, /event: plugin-event\ndata: .*"plugin":"demo","method":"tick"/);
    req.destroy();
  });
});
