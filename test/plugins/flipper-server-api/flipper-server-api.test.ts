import assert from 'node:assert/strict';
import * as http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContainerModule } from 'inversify';
import { FlipperClient } from '../../../src/client/flipper-client.js';
import { FlipperServerApiService, FlipperUiLimitsToken } from '../../../src/plugins/flipper-server-api/flipper-server-api-service.js';
import { FLIPPER_UI_LIMITS } from '../../../src/plugins/flipper-server-api/flipper-ui-sockets.js';
import { THIS_COMPUTER_SERIAL } from '../../../src/plugins/flipper-server-api/flipper-descriptions.js';
import { demoPlugin } from '../../helpers/demo-plugin.js';
import { FlipperUiSocket, upgradeStatus } from '../../helpers/flipper-ui-socket.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost } from '../../helpers/test-host.js';

const UNREAD_LIMIT = 256 * 1024;
const MAX_SOCKETS = 4;
const MAX_MESSAGE = 64 * 1024;

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

/** Issue 20: the flipper-server-compatible API, against a real host, a real SDK app and raw WebSockets. */
describe("the flipper-server API for Flipper's UI", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let port: number;
  let token: string;
  let url: string;
  let service: FlipperServerApiService;
  let ui: FlipperUiSocket;
  let app: FlipperClient;
  const demo = demoPlugin();

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    const limits = new ContainerModule(({ bind }) => void bind(FlipperUiLimitsToken).toConstantValue({ ...FLIPPER_UI_LIMITS, maxUnreadBytes: UNREAD_LIMIT, maxSockets: MAX_SOCKETS, maxMessageBytes: MAX_MESSAGE }));
    host = await startTestHost(
      dir,
      (config) => {
        config.plugins.services = ['flipper-server-api'];
        config.flipperServer = { port: 0 };
      },
      [limits],
    );
    service = host.container.get(FlipperServerApiService);
    port = service.boundPort!;
    token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
    url = `ws://127.0.0.1:${port}/?token=${token}`;
    // The UI is there before the app, to see the order of events.
    ui = await FlipperUiSocket.open(url);
    app = new FlipperClient({
      appId: 'com.example.fs', appName: 'Fs App', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demo], reconnectMs: 50,
    });
    app.start();
    await eventually(() => demo.connection, 'the app');
  });
  after(async () => {
    ui.close();
    await app.stop();
    await host.stop();
    await cleanup();
  });

  const clientId = () => host.registry.list()[0]!.id;

  it('refuses every way in without the token, a foreign Origin or a foreign Host, before any command runs', async () => {
    const base = `ws://127.0.0.1:${port}/`;
    assert.equal(await upgradeStatus(base), 401, 'no token');
    assert.equal(await upgradeStatus(`${base}?token=${'0'.repeat(64)}`), 401, 'wrong token');
    assert.equal(await upgradeStatus(base, { headers: { 'x-access-token': 'nope' } }), 401, 'wrong header token');
    assert.equal(await upgradeStatus(base, { headers: { cookie: 'sonarhost_flipper=nope' } }), 401, 'wrong cookie');
    assert.equal(await upgradeStatus(url, { origin: 'http://evil.example' }), 403, 'foreign origin');
    assert.equal(await upgradeStatus(url, { origin: `http://localhost:${port}.evil.example` }), 403, 'an origin that only starts like ours');
    assert.equal(await upgradeStatus(url, { origin: `http://localhost:${port + 1}` }), 403, 'another port on localhost');
    assert.equal(await upgradeStatus(url, { headers: { host: 'evil.example' } }), 403, 'foreign Host (DNS rebinding)');
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/other?token=${token}`), 404);
    assert.equal(await upgradeStatus(url, { origin: `http://localhost:${port}` }), 101, "the UI's own origin");
    assert.equal(await upgradeStatus(base, { headers: { 'x-access-token': token } }), 101, 'the 0.212+ header');
    assert.equal((await get(port, '/')).status, 401);
    assert.equal((await get(port, '/bundle.js')).status, 401);
    assert.equal((await get(port, '/', { host: 'evil.example', cookie: `sonarhost_flipper=${token}` })).status, 403);
    const health = await get(port, '/health');
    assert.deepEqual([health.status, health.body.trim()], [200, 'flipper-ok']);
  });

  it('logs the browser in with a cookie from /?token=, then serves / saying what to install', async () => {
    assert.equal((await get(port, `/?token=wrong`)).status, 401);
    const login = await get(port, `/?token=${token}`);
    assert.equal(login.status, 303);
    assert.equal(login.headers.location, '/');
    const cookie = login.headers['set-cookie']![0]!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Path=\//);
    const pair = cookie.split(';')[0]!;
    const page = await get(port, '/', { cookie: pair });
    assert.equal(page.status, 200);
    assert.match(page.body, /not installed/);
    assert.equal(page.body.trim().split('\n').length, 1);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/`, { headers: { cookie: pair }, origin: `http://localhost:${port}` }), 101);
    const authToken = join(host.config.certDir, 'auth.token');
    assert.equal((await readFile(authToken, 'utf8')).trim(), token);
    assert.equal((await stat(authToken)).mode & 0o777, 0o600);
  });

  it("announces the app's device before the app, with the ids the requests take", async () => {
    await ui.waitFor((f) => f.payload.event === 'client-connected', 'client-connected');
    const names = ui.serverEvents().map((e) => e.event);
    assert.ok(names.indexOf('device-connected') !== -1 && names.indexOf('device-connected') < names.indexOf('client-connected'), names.join(', '));
    const device = ui.serverEvents('device-connected').map((e) => e.data as { serial: string }).find((d) => d.serial === THIS_COMPUTER_SERIAL);
    assert.ok(device, 'the desktop app is filed under this computer');
    const client = ui.serverEvents('client-connected')[0]!.data as { id: string; query: Record<string, unknown> };
    assert.equal(client.id, clientId());
    assert.deepEqual(client.query, { app: 'Fs App', app_id: 'com.example.fs', os: 'Linux', device: 'box', device_id: THIS_COMPUTER_SERIAL, sdk_version: 4, medium: 'FS_ACCESS' });
    assert.deepEqual((await ui.exec('client-list')).payload.data, [client]);
    assert.deepEqual((await ui.exec('client-find', client.id)).payload.data, client);
    const devices = (await ui.exec('device-list')).payload.data as Array<{ serial: string }>;
    assert.ok(devices.some((d) => d.serial === THIS_COMPUTER_SERIAL));
    assert.deepEqual((await ui.exec('get-server-state')).payload.data, { state: 'started' });
  });

  it("relays client-request-response with the caller's request id, and needs one", async () => {
    const answer = await ui.exec('client-request-response', clientId(), { id: 41, method: 'getPlugins' });
    assert.equal(answer.event, 'exec-response');
    const data = answer.payload.data as { id: number; success: { plugins: string[] }; length: number };
    assert.equal(data.id, 41);
    assert.deepEqual(data.success.plugins, ['demo']);
    assert.equal(data.length, JSON.stringify(data.success).length);
    const appError = (await ui.exec('client-request-response', clientId(), { id: 42, method: 'execute', params: { api: 'demo', method: 'fail' } })).payload.data as { id: number; error: { message: string } };
    assert.equal(appError.id, 42);
    assert.match(appError.error.message, /asked to fail/);
    const noId = await ui.exec('client-request-response', clientId(), { method: 'getPlugins' });
    assert.equal(noId.event, 'exec-response-error');
    assert.match(String(noId.payload.data), /needs an "id"/);
    const gone = await ui.exec('client-request-response', 'nobody#Linux#x#', { id: 1, method: 'getPlugins' });
    assert.equal(gone.event, 'exec-response-error');
  });

  it("forwards the app's messages as client-message with the raw JSON string", async () => {
    assert.equal((await ui.exec('client-request', clientId(), { method: 'init', params: { plugin: 'demo' } })).event, 'exec-response');
    demo.connection!.send('hello', { n: 1 });
    const frame = await ui.waitFor((f) => f.payload.event === 'client-message' && String((f.payload.data as { message: string }).message).includes('hello'), 'client-message');
    const data = frame.payload.data as { id: string; message: unknown };
    assert.equal(data.id, clientId());
    assert.equal(typeof data.message, 'string');
    assert.deepEqual(JSON.parse(data.message as string), { method: 'execute', params: { api: 'demo', method: 'hello', params: { n: 1 } } });
  });

  it('answers unknown, refused and malformed commands at once, and keeps serving', async () => {
    const unknown = await ui.exec('no-such-command');
    assert.equal(unknown.event, 'exec-response-error');
    assert.match(String(unknown.payload.data), /Unknown command "no-such-command"/);
    for (const refused of ['node-api-fs-readfile', 'node-api-exec', 'shutdown', 'device-shell-exec', 'keychain-read', 'plugins-install-from-npm']) {
      const answer = await ui.exec(refused, '/etc/passwd');
      assert.equal(answer.event, 'exec-response-error', refused);
      assert.match(String(answer.payload.data), new RegExp(`sonarhost refuses ${refused}`));
    }
    ui.sendRaw(JSON.stringify({ event: 'exec', payload: { id: 900, command: 'client-list', args: 'nope' } }));
    const notArray = await ui.waitFor((f) => f.payload.id === 900, 'the answer to args that are not an array');
    assert.equal(notArray.event, 'exec-response-error');
    ui.sendRaw('{not json');
    const bad = await ui.waitFor((f) => f.event === 'error', 'the parse error');
    assert.match(String(bad.payload.message), /^Failed to parse JSON request: /);
    // Deep nesting in the echoed id (or args bound for an app) would overflow the stack when answered.
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    ui.sendRaw(`{"event":"exec","payload":{"id":${deep},"command":"client-request-response","args":["x",${deep}]}}`);
    const tooDeep = await ui.waitFor((f) => f.event === 'error' && /nests deeper/.test(String(f.payload.message)), 'the depth refusal');
    assert.match(String(tooDeep.payload.message), /Refused a request that nests deeper than 256 levels/);
    assert.equal((await ui.exec('get-server-state')).event, 'exec-response');
  });

  it('persists the settings in the certificate folder (mode 0600) and get-config returns them', async () => {
    const before = (await ui.exec('get-config')).payload.data as { settings: Record<string, unknown>; environmentInfo: unknown; paths: unknown; gatekeepers: unknown };
    assert.ok(before.environmentInfo && before.paths && before.gatekeepers);
    assert.equal((await ui.exec('persist-settings', { ...before.settings, darkMode: 'dark' })).event, 'exec-response');
    const file = join(host.config.certDir, 'flipper-settings.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((JSON.parse(await readFile(file, 'utf8')) as { darkMode: string }).darkMode, 'dark');
    assert.equal(((await ui.exec('get-config')).payload.data as { settings: { darkMode: string } }).settings.darkMode, 'dark');
    assert.equal((await ui.exec('persist-settings', 'not an object')).event, 'exec-response-error');
  });

  it('drops a UI socket that stops reading, while the others keep getting every event', async () => {
    const slow = await FlipperUiSocket.open(url);
    const bystander = await FlipperUiSocket.open(url);
    await eventually(() => service.sockets.count === 3, 'three UI sockets');
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(16 * 1024);
    let sent = 0;
    // Event-driven: keep the app sending until the host has dropped the reader that stopped reading.
    while (service.sockets.count === 3) {
      for (let i = 0; i < 20; i++) demo.connection!.send('flood', { i: sent++, big });
      await new Promise((r) => setTimeout(r, 10));
      if (sent > 20_000) throw new Error('the slow reader was never dropped');
    }
    assert.ok(sent * big.length > UNREAD_LIMIT);
    demo.connection!.send('after-drop', {});
    await bystander.waitFor((f) => f.payload.event === 'client-message' && String((f.payload.data as { message: string }).message).includes('after-drop'), 'the event after the drop');
    assert.equal(bystander.serverEvents('client-message').filter((e) => String((e.data as { message: string }).message).includes('flood')).length, sent, 'the bystander got every event');
    assert.ok(host.logger.records.some((r) => r.message.includes('stopped reading')));
    slow.close();
    bystander.close();
  });

  it('caps the UI sockets open at once and the size of a message, and keeps serving the others', async () => {
    await eventually(() => service.sockets.count === 1, 'only the first UI socket left');
    const extra = await Promise.all(Array.from({ length: MAX_SOCKETS - 1 }, () => FlipperUiSocket.open(url)));
    assert.equal(await upgradeStatus(url), 503, 'one socket too many');
    extra.pop()!.close();
    await eventually(() => service.sockets.count === MAX_SOCKETS - 1, 'a free slot');
    assert.equal(await upgradeStatus(url), 101);
    const big = extra[0]!;
    const closed = new Promise<number>((resolve) => big.ws.once('close', (code) => resolve(code)));
    big.sendRaw(JSON.stringify({ event: 'exec', payload: { id: 1, command: 'persist-settings', args: [{ junk: 'x'.repeat(MAX_MESSAGE) }] } }));
    assert.equal(await closed, 1009, 'message too big');
    for (const socket of extra) socket.close();
    assert.equal((await ui.exec('get-server-state')).event, 'exec-response');
  });
});
