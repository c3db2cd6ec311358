import assert from 'node:assert/strict';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

/**
 * A port that accepts and closes at once (a forwarder whose far side is not there yet, a host that is
 * stopping) must count as a failed exchange and be retried, as the SDKs do, never leave the client
 * waiting in "exchanging" for an answer that cannot come.
 */
describe('FlipperClient against an exchange port that closes at once', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: net.Server;
  let accepted = 0;
  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    server = net.createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await cleanup();
  });

  for (const transport of ['rsocket', 'websocket'] as const) {
    it(`retries over ${transport} instead of waiting forever`, async () => {
      const port = (server.address() as net.AddressInfo).port;
      const before = accepted;
      const client = new FlipperClient({
        appId: `com.example.closed.${transport}`, appName: 'Closed', os: 'Linux', device: 'box', stateDir: join(dir, transport, 'sonar'),
        host: '127.0.0.1', ports: { insecure: port, secure: port }, plugins: [], reconnectMs: 20, transport,
      });
      const problems: string[] = [];
      client.on('problem', (message: string) => problems.push(message));
      client.start();
      try {
        await eventually(() => accepted - before >= 3, 'three exchange attempts');
        assert.ok(problems.length >= 2, `each closed attempt is reported (got ${problems.length})`);
      } finally {
        await client.stop();
      }
    });
  }
});
