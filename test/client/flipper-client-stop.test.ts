import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost } from '../helpers/test-host.js';

describe('FlipperClient.stop', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir);
  });
  after(async () => {
    await host.stop();
    await cleanup();
  });

  it('returns promptly even when it lands while a connection is being opened', async () => {
    const client = new FlipperClient({
      appId: 'com.example.stop', appName: 'Stop', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin()], reconnectMs: 10,
    });
    client.start();
    await eventually(() => host.registry.list().length === 1, 'the first connection');
    for (let i = 0; i < 20; i++) {
      await client.stop();
      client.start();
      await new Promise((resolve) => setTimeout(resolve, i * 3)); // stop at different points of the reconnect
      const started = Date.now();
      await client.stop();
      assert.ok(Date.now() - started < 3000, `stop took ${Date.now() - started} ms`);
      client.start();
    }
    await client.stop();
    await eventually(() => host.registry.list().length === 0, 'no client left registered');
  });
});
