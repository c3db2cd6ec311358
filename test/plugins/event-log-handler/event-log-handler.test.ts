import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FlipperClient } from '../../../src/client/flipper-client.js';
import { demoPlugin } from '../../helpers/demo-plugin.js';
import { eventually, startTestHost } from '../../helpers/test-host.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

test('a connection and a disconnection each write one info line (the registry\'s), not two', async () => {
  const { path: dir, cleanup } = await makeTempDir();
  const host = await startTestHost(dir, (config) => void (config.plugins.connectionHandlers = ['event-log']));
  const client = new FlipperClient({
    appId: 'com.example.logs', appName: 'Logs Demo', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
    host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin()], reconnectMs: 50,
  });
  try {
    client.start();
    await eventually(() => host.handler.connected.length > 0, 'the app to connect');
    await eventually(() => host.logger.messages().includes('app connected'), 'the event log handler to see the connection');
    await client.stop();
    await eventually(() => host.handler.disconnected.length > 0, 'the app to disconnect');
    await eventually(() => host.logger.messages().includes('app disconnected'), 'the event log handler to see the disconnection');
    const info = host.logger.messages('info').filter((m) => /connected/.test(m));
    assert.deepEqual(info, ['client connected', 'client disconnected']);
  } finally {
    await client.stop();
    await host.stop();
    await cleanup();
  }
});
