import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost } from '../helpers/test-host.js';

const DEMO = fileURLToPath(new URL('../../examples/demo-app.js', import.meta.url));

describe('the demo app example', () => {
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

  it('connects to a running host with its counter plugin, which answers and sends ticks', async () => {
    const child = spawn(process.execPath, [DEMO, '--ports', `${host.ports.insecure},${host.ports.secure}`, '--state-dir', join(dir, 'demo', 'sonar')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const session = await eventually(() => onlyClient(host.registry), 'the demo app to connect');
      assert.equal(session.appId, 'com.example.sonarhost.demo');
      assert.deepEqual(session.plugins(), ['counter']);
      assert.deepEqual(await session.call('counter', 'add', { a: 1, b: 2 }), { sum: 3 });
      await eventually(() => host.handler.events.find((e) => e.event.plugin === 'counter' && e.event.method === 'tick'), 'a tick event', 5000);
      assert.match(output, /\[demo\] certificates received/);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
