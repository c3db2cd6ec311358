import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

  it('refuses an app of an os no device transport serves on the WebSocket port: the app process reports a problem and keeps trying, the host logs why', async () => {
    const [insecure, secure, wsInsecure, wsSecure] = await freePorts(4);
    const config = await writeIsolatedConfig(dir, { insecure: insecure!, secure: secure! }, {
      webSocket: { insecure: wsInsecure, secure: wsSecure, browser: false },
      plugins: { transports: ['rsocket', 'websocket'], deviceTransports: ['desktop'] },
    });
    const host = spawn(process.execPath, [CLI_PATH, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    host.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    host.stdout.on('data', (d: Buffer) => (logs += d.toString()));
    // The app as its own process, as a user runs one: the client SDK from the build, os "Fridge".
    const script = join(dir, 'fridge-app.mjs');
    const sdk = pathToFileURL(join(CLI_PATH, '..', '..', 'client', 'flipper-client.js')).href;
    await writeFile(script, `import { FlipperClient } from ${JSON.stringify(sdk)};
const client = new FlipperClient({ appId: 'com.example.fridge', appName: 'Fridge', os: 'Fridge', device: 'kitchen', stateDir: ${JSON.stringify(join(dir, 'fridge', 'sonar'))},
  host: '127.0.0.1', transport: 'websocket', ports: { insecure: ${wsInsecure}, secure: ${wsSecure} }, plugins: [], reconnectMs: 100 });
client.on('state', (state) => console.log('state: ' + state));
client.on('problem', (message) => console.log('problem: ' + message));
client.start();
`);
    let app: ReturnType<typeof spawn> | undefined;
    try {
      await eventually(() => logs.includes('listening (insecure)') || host.exitCode !== null, `the host to listen:\n${logs}`, 30_000);
      app = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      app.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      app.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      await eventually(() => (out.match(/^problem: /gm)?.length ?? 0) >= 2 || app!.exitCode !== null, `the app to report the refusal twice:\n${out}`, 30_000);
      assert.equal(app.exitCode, null, `the app keeps trying instead of exiting:\n${out}`);
      assert.match(out, /^problem: Desktop failed to provide certificates\. Error from flipper desktop:\nthe host answered without a deviceId \(it logs why\)$/m);
      await eventually(() => logs.includes('No device transport serves os \\"Fridge\\"'), `the reason in the host log:\n${logs}`);
      assert.match(logs, /"level":"warn"[^\n]*No device transport serves os \\"Fridge\\"/);
    } finally {
      app?.kill('SIGKILL');
      host.kill('SIGKILL');
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
