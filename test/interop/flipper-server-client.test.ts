import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { FlipperServerApiService } from '../../src/plugins/flipper-server-api/flipper-server-api-service.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { type FlipperServerClientModule, type FlipperServerLike, loadFlipperServerClient, loadReconnectingWebSocket } from '../helpers/flipper-server-client.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost } from '../helpers/test-host.js';

/**
 * Issue 20: Flipper's own headless client library, flipper-server-client@0.273.0 from npm (what
 * Player devtools and similar tools use), against sonarhost's flipper-server API. It opens
 * `ws://host:port?token=…` through reconnecting-websocket, which needs a global WebSocket (Node 20 has none).
 */
describe('flipper-server-client@0.273.0 against sonarhost', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let port: number;
  let token: string;
  let library: FlipperServerClientModule;
  let server: FlipperServerLike | undefined;
  let app: FlipperClient | undefined;
  const hadWebSocket = 'WebSocket' in globalThis;
  const demo = demoPlugin();

  before(async () => {
    library = await loadFlipperServerClient();
    if (!hadWebSocket) (globalThis as Record<string, unknown>).WebSocket = WebSocket;
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, (config) => {
      config.plugins.services = ['flipper-server-api'];
      config.flipperServer = { port: 0 };
    });
    port = host.container.get(FlipperServerApiService).boundPort!;
    token = (await readFile(join(host.config.certDir, 'auth.token'), 'utf8')).trim();
  });
  after(async () => {
    server?.close();
    await app?.stop();
    await host.stop();
    await cleanup();
    if (!hadWebSocket) delete (globalThis as Record<string, unknown>).WebSocket;
  });

  it('is refused without the token: it never gets connected', async () => {
    const states: number[] = [];
    // The socket createFlipperServer builds (same URL form), with its retries bounded so the test can close it.
    const ReconnectingWebSocket = loadReconnectingWebSocket();
    const socket = new ReconnectingWebSocket(`ws://127.0.0.1:${port}?token=wrong`, [], { WebSocket, maxRetries: 3, minReconnectionDelay: 10, maxReconnectionDelay: 50 });
    const refused = library.createFlipperServerWithSocket(socket, port, (state) => states.push(state));
    refused.catch(() => undefined);
    try {
      // Each refusal is a close before any open.
      await eventually(() => states.filter((s) => s === library.FlipperServerState.DISCONNECTED).length >= 2, 'two refused attempts', 20_000);
      assert.ok(!states.includes(library.FlipperServerState.CONNECTED), `states: ${states.join(',')}`);
      assert.equal(host.container.get(FlipperServerApiService).sockets.count, 0);
    } finally {
      socket.close();
    }
  });

  it('lists clients, calls getPlugins through client-request-response and receives client-message events', async () => {
    const connected = await library.createFlipperServer('127.0.0.1', port, () => token, () => undefined);
    server = connected;
    const connectedClients: Array<{ id: string }> = [];
    const messages: Array<{ id: string; message: string }> = [];
    connected.on('client-connected', (c) => connectedClients.push(c as { id: string }));
    connected.on('client-message', (m) => messages.push(m as { id: string; message: string }));
    app = new FlipperClient({
      appId: 'com.example.fsc', appName: 'Fsc App', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demo], reconnectMs: 50,
    });
    app.start();
    await eventually(() => connectedClients.length > 0 && demo.connection, 'client-connected');
    const clients = (await connected.exec('client-list')) as Array<{ id: string; query: { app: string } }>;
    assert.deepEqual(clients.map((c) => c.query.app), ['Fsc App']);
    assert.equal(clients[0]!.id, connectedClients[0]!.id);
    const answer = (await connected.exec('client-request-response', clients[0]!.id, { id: 1, method: 'getPlugins' })) as { success: { plugins: string[] } };
    assert.deepEqual(answer.success.plugins, ['demo']);
    demo.connection!.send('ping', { from: 'app' });
    await eventually(() => messages.find((m) => m.message.includes('"ping"')), 'the client-message');
    const message = messages.find((m) => m.message.includes('"ping"'))!;
    assert.equal(message.id, clients[0]!.id);
    assert.deepEqual(JSON.parse(message.message), { method: 'execute', params: { api: 'demo', method: 'ping', params: { from: 'app' } } });
    await assert.rejects(connected.exec('node-api-fs-readfile', '/etc/passwd'), (error: unknown) => String(error).includes('sonarhost refuses node-api-fs-readfile'));
  });
});
