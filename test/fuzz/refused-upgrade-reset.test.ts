import assert from 'node:assert/strict';
import * as net from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperServerApiService } from '../../src/plugins/flipper-server-api/flipper-server-api-service.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, startTestHost } from '../helpers/test-host.js';

/**
 * A refused WebSocket upgrade, then a TCP reset from the client once it has read the refusal. Node's
 * HTTP server takes its own 'error' listener off a socket it hands to 'upgrade', so a refusal written
 * there with no listener of ours turned the client's reset into an uncaught exception: any local
 * process could crash the host this way (it showed up as a flaky interop test under load, where
 * reconnecting-websocket's refused attempts reset).
 */
describe('a refused WebSocket upgrade whose client resets the connection', () => {
  let host: TestHost;
  let cleanup: () => Promise<void>;
  let apiToken: string;
  const uncaught: unknown[] = [];
  const record = (error: unknown) => uncaught.push(error);

  before(async () => {
    let dir: string;
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, (config) => {
      config.plugins.services = ['http-api', 'flipper-server-api'];
      config.api = { port: 0 };
      config.flipperServer = { port: 0 };
    });
    apiToken = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
    process.on('uncaughtException', record);
  });
  after(async () => {
    process.off('uncaughtException', record);
    await host.stop();
    await cleanup();
  });

  const endpoints = (): Array<[string, number, string]> => [
    ['the tools API (/api/ws)', host.apiPort!, '/api/ws?token=wrong'],
    ["Flipper's UI API", host.container.get(FlipperServerApiService).boundPort!, '/?token=wrong'],
  ];

  it('keeps the host up and serving on both upgrade endpoints', async () => {
    for (const [name, port, path] of endpoints()) {
      const answer = await upgradeThenReset(port, path);
      assert.match(answer, /^HTTP\/1\.1 40[13]/, `${name} refuses the wrong token`);
      // The reset reached the host before this new connection's SYN was even sent, so by the time
      // the host answers it, it has read the reset on the old socket.
      const health = await fetch(`http://127.0.0.1:${host.apiPort}/api/health`, { headers: { authorization: `Bearer ${apiToken}` } });
      assert.equal(health.status, 200, `the host still answers after ${name}'s refused client reset`);
      assert.deepEqual(uncaught.map(String), [], `no uncaught exception after ${name}'s refused client reset`);
    }
  });
});

/** Asks for a WebSocket upgrade, reads the refusal, then resets the connection (RST, not FIN). */
function upgradeThenReset(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('error', reject);
    socket.on('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (!answer.includes('\r\n\r\n')) return;
      socket.resetAndDestroy();
      resolve(answer);
    });
  });
}
