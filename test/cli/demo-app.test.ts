import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir } from 'node:fs/promises';
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
      assert.deepEqual([...session.plugins()].sort(), ['counter', 'greeter']);
      assert.deepEqual(await session.call('counter', 'add', { a: 1, b: 2 }), { sum: 3 });
      await eventually(() => host.handler.events.find((e) => e.event.plugin === 'counter' && e.event.method === 'tick'), 'a tick event', 5000);
      assert.match(output, /\[demo\] certificates received/);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  it('run twice in a row from a temporary folder: says "this computer", leaves nothing behind, and is not a connection loop', async () => {
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    for (let run = 1; run <= 2; run++) {
      const child = spawn(process.execPath, [DEMO, '--ports', `${host.ports.insecure},${host.ports.secure}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      try {
        await eventually(() => host.handler.connected.length === run, `demo run ${run} to connect`);
        await eventually(() => output.includes('certificates received'), 'the exchange line');
        assert.match(output, /\[demo\] certificates received for this computer, in /);
        assert.equal((await readdir(tmp)).length, 1, 'the demo works in a temporary folder while it runs');
      } finally {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      assert.deepEqual(await readdir(tmp), [], 'the temporary folder is removed when the demo stops');
      await eventually(() => host.registry.list().length === 0, 'the demo to disconnect');
    }
    assert.deepEqual(host.logger.messages('warn').filter((m) => /Connection loop/.test(m)), []);
  });
});
