import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withWebSocket } from '../helpers/test-host.js';

/**
 * The real SDKs open the secure connection as soon as the exchange answered; the reconnect pause is only
 * for failures. With a pause of ten minutes, a client that waited after its exchange would never connect
 * within the test's guard, so this holds however fast or loaded the machine is.
 */
describe('FlipperClient after a successful exchange', () => {
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
    it(`connects securely at once, without the reconnect pause (${transport})`, async () => {
      const client = new FlipperClient({
        appId: `com.example.nopause.${transport}`, appName: `NoPause ${transport}`, os: 'Linux', device: 'box', stateDir: join(dir, transport, 'sonar'),
        host: '127.0.0.1', transport, ports: transport === 'websocket' ? { insecure: host.wsPorts.insecure!, secure: host.wsPorts.secure! } : host.ports, plugins: [demoPlugin()], reconnectMs: 600_000,
      });
      const states: string[] = [];
      client.on('state', (state: string) => states.push(state));
      client.start();
      try {
        await eventually(() => host.registry.list().some((s) => s.appId === `com.example.nopause.${transport}`), 'the app registered after its first exchange', 60_000);
        assert.equal(client.exchanges, 1);
        assert.deepEqual(states.slice(0, 3), ['exchanging', 'connecting', 'connected']);
      } finally {
        await client.stop();
      }
    });
  }
});
