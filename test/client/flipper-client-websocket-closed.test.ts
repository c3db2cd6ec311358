import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

/**
 * A host that completes the WebSocket upgrade and closes at once with a reason (1011, as for a query it
 * cannot serve): the client must report that reason as a problem and retry. Before, the close landed
 * before the client listened for it, the exchange waited on nothing, and a Node process exited 0 in silence.
 */
describe('FlipperClient against a WebSocket exchange port that closes after the upgrade', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: WebSocketServer;
  let accepted = 0;
  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (socket) => {
      accepted++;
      socket.close(1011, 'os "Toaster" is not served here');
    });
    await new Promise<void>((resolve) => server.once('listening', resolve));
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await cleanup();
  });

  it('reports the close code and reason as a problem and keeps retrying', async () => {
    const port = (server.address() as { port: number }).port;
    const client = new FlipperClient({
      appId: 'com.example.toaster', appName: 'Toaster', os: 'Toaster', device: 'box', stateDir: join(dir, 'sonar'),
      host: '127.0.0.1', ports: { insecure: port, secure: port }, plugins: [], reconnectMs: 20, transport: 'websocket',
    });
    const problems: string[] = [];
    client.on('problem', (message: string) => problems.push(message));
    client.start();
    try {
      await eventually(() => accepted >= 3 && problems.length >= 2, 'three attempts, each reported');
      assert.ok(problems.some((p) => p.includes('1011') && p.includes('os "Toaster" is not served here')), `the host's reason reaches the app: ${problems.join(' | ')}`);
    } finally {
      await client.stop();
    }
  });
});
