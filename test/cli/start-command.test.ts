import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { HostileUsbmuxd } from '../helpers/fake-usbmux/hostile-usbmuxd.js';
import { freePorts } from '../helpers/free-ports.js';
import { writeIsolatedConfig } from '../helpers/host-config-file.js';
import { CLI_PATH, runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

describe('sonarhost start', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ path: dir, cleanup } = await makeTempDir()));
  afterEach(() => cleanup());

  it('serves an app, and on SIGTERM closes its sockets and exits 0', async () => {
    const [insecure, secure] = await freePorts(2);
    const config = await writeIsolatedConfig(dir, { insecure: insecure!, secure: secure! });
    const child = spawn(process.execPath, [CLI_PATH, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = once(child, 'exit');
    const client = new FlipperClient({
      appId: 'com.example.cli', appName: 'Cli', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: { insecure, secure }, plugins: [demoPlugin()], reconnectMs: 100,
    });
    try {
      client.start();
      const deadline = Date.now() + 20_000;
      while (!logs.includes('"msg":"client connected"')) {
        assert.ok(Date.now() < deadline, `no client connected; host logs:\n${logs}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const disconnected = once(client, 'disconnected');
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0, logs);
      await disconnected; // the host closed the app's connection on its way out
      const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: string });
      assert.ok(lines.some((l) => l.msg === 'stopping'));
      assert.equal(lines.at(-1)!.msg, 'stopped');
    } finally {
      await client.stop();
      child.kill('SIGKILL');
    }
  });

  it('names a port that is in use, how to move it, and exits non-zero', async () => {
    const [insecure, secure] = await freePorts(2);
    const blocker = net.createServer().listen(secure, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const result = await runCli(['start', '--config', await writeIsolatedConfig(dir, { insecure: insecure!, secure: secure! })]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`Port ${secure} on 127\\.0\\.0\\.1 is already in use.*FLIPPER_PORTS="<insecure>,<secure>" or --ports`));
    } finally {
      blocker.close();
    }
  });

  it('exits non-zero and frees its ports when start-up fails, even with a usbmuxd that never answers', async () => {
    // The squatted usbmuxd accepts and never answers; start-up must neither wait for it nor linger on it.
    const usbmuxd = await new HostileUsbmuxd(join(dir, 'usbmuxd.sock'), 'silent').start();
    const [insecure, secure] = await freePorts(2);
    const blocker = net.createServer().listen(secure, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const config = await writeIsolatedConfig(dir, { insecure: insecure!, secure: secure! }, {
        plugins: { deviceTransports: ['desktop', 'ios-physical'] },
        pluginOptions: { 'ios-physical': { usbmuxdSocket: usbmuxd.address } },
      });
      const result = await runCli(['start', '--config', config], { timeoutMs: 20_000 });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`Port ${secure} on 127\\.0\\.0\\.1 is already in use`));
      // Its other port is free again, and it left no connection to usbmuxd behind.
      const probe = net.createServer().listen(insecure, '127.0.0.1');
      await once(probe, 'listening');
      probe.close();
      await eventually(() => usbmuxd.open.size === 0, 'the usbmuxd connection to close', 2_000);
    } finally {
      blocker.close();
      await usbmuxd.stop();
    }
  });
});
