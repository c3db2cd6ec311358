import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withWebSocket } from '../helpers/test-host.js';

/** Apps that disappear while the host waits for them: nothing hangs, and the lists stay consistent. */
describe('a client dropping mid-request', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withWebSocket);
  });
  after(async () => {
    await host.stop();
    await cleanup();
  });

  for (const transport of ['rsocket', 'websocket'] as const) {
    it(`${transport}: the pending call fails at once, the client is removed and handlers are told`, async () => {
      const client = new FlipperClient({
        appId: `com.example.drop.${transport}`, appName: `Drop ${transport}`, os: 'Linux', device: 'box', stateDir: join(dir, transport, 'sonar'), host: '127.0.0.1',
        transport, ports: transport === 'rsocket' ? host.ports : { insecure: host.wsPorts.insecure!, secure: host.wsPorts.secure! },
        plugins: [{ id: 'slow', runInBackground: true, receivers: { hang: () => new Promise(() => undefined) } }],
        reconnectMs: 50,
      });
      client.start();
      const session = await eventually(() => host.registry.list().find((s) => s.appId === `com.example.drop.${transport}`), 'the client');
      const pending = session.call('slow', 'hang', {});
      const started = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await client.stop();
      await assert.rejects(pending);
      assert.ok(Date.now() - started < 5000, `rejected after ${Date.now() - started} ms, not after the 30 s timeout`);
      await eventually(() => !host.registry.list().includes(session), 'the client to be removed');
      assert.ok(host.handler.disconnected.includes(session));
    });
  }
});
