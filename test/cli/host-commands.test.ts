import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ClientPlugin } from '../../src/client/client-plugin.js';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { clientShortId } from '../../src/core/client-short-id.js';
import { HttpApiService } from '../../src/plugins/http-api/http-api-service.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { CLI_PATH, runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withApi } from '../helpers/test-host.js';

function slowPlugin(): ClientPlugin {
  return { id: 'slow', runInBackground: true, receivers: { hang: () => new Promise(() => undefined) } };
}

/** `status`, `clients`, `call` and `events` against a running host with emulated apps (issue 17, item 1). */
describe('the commands for a running host', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let certDir: string;
  const apps = new Map<string, FlipperClient & { demo: ReturnType<typeof demoPlugin> }>();
  const cli = (...args: string[]) => runCli([...args, '--cert-dir', certDir], { cwd: dir });

  const connect = async (key: string, appName: string, appId: string, device: string) => {
    const demo = demoPlugin();
    const client = Object.assign(
      new FlipperClient({
        appId, appName, os: 'Linux', device, stateDir: join(dir, key, 'sonar'),
        host: '127.0.0.1', ports: host.ports, plugins: [demo, slowPlugin()], reconnectMs: 50,
      }),
      { demo },
    );
    apps.set(key, client);
    client.start();
    await eventually(() => demo.connection, `${key} to connect`);
    return client;
  };

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withApi);
    certDir = host.config.certDir;
    await connect('alpha', 'Alpha', 'com.example.alpha', 'box');
    await connect('twin1', 'Twin', 'com.example.twin', 'phone-1');
    await connect('twin2', 'Twin', 'com.example.twin', 'phone-2');
  });
  after(async () => {
    for (const app of apps.values()) await app.stop();
    await host.stop();
    await cleanup();
  });

  it('says no host is running for an empty folder or a stale api.json, with exit code 3', async () => {
    const empty = await runCli(['status', '--cert-dir', join(dir, 'nothing-here')], { cwd: dir });
    assert.equal(empty.code, 3, empty.stderr);
    assert.match(empty.stderr, /No sonarhost is running for the certificate folder .*nothing-here \(no api\.json\)\. Start one with "sonarhost start"/);

    const staleDir = join(dir, 'stale');
    await runCli(['certs', '--cert-dir', staleDir], { cwd: dir });
    const dead = spawn(process.execPath, ['-e', '0']);
    await once(dead, 'exit');
    // As a host that died leaves it: mode 0600, beside a token.
    await writeFile(join(staleDir, 'api.json'), JSON.stringify({ url: 'http://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1/api/ws', pid: dead.pid, version: '0', startedAt: 'then' }), { mode: 0o600 });
    await writeFile(join(staleDir, 'api.token'), 'ab'.repeat(32) + '\n', { mode: 0o600 });
    const stale = await runCli(['clients', '--cert-dir', staleDir], { cwd: dir });
    assert.equal(stale.code, 3, stale.stderr);
    assert.match(stale.stderr, /api\.json is stale: process \d+ is not a running process of this user/);
  });

  it('records the API in api.json (mode 0600) and reports it in status', async () => {
    const record = JSON.parse(await readFile(join(certDir, 'api.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(record.url, `http://127.0.0.1:${host.apiPort}`);
    assert.equal(record.pid, process.pid);
    assert.equal((await stat(join(certDir, 'api.json'))).mode & 0o777, 0o600);
    const status = await cli('status');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`is running \\(pid ${process.pid}, since .*\\n  API +http://127\\.0\\.0\\.1:${host.apiPort}`));
    assert.match(status.stdout, /clients +3/);
  });

  it('lists the clients with their short ids', async () => {
    const json = await cli('clients', '--json');
    assert.equal(json.code, 0, json.stderr);
    const list = JSON.parse(json.stdout) as Array<{ id: string; shortId: string; app: string }>;
    assert.deepEqual(list.map((c) => c.app).sort(), ['Alpha', 'Twin', 'Twin']);
    for (const c of list) assert.equal(c.shortId, clientShortId(c.id));
    const text = await cli('clients');
    const alpha = list.find((c) => c.app === 'Alpha')!;
    assert.match(text.stdout, new RegExp(`${alpha.shortId} +Alpha +com\\.example\\.alpha +box +Alpha#Linux#box#`));
  });

  it('calls a plugin by short id, app name and app id, and a protocol method as it is', async () => {
    const alphaId = host.registry.list().find((s) => s.query.app === 'Alpha')!.id;
    const byShort = await cli('call', clientShortId(alphaId), 'demo.echo', '{"x": 1}');
    assert.equal(byShort.code, 0, byShort.stderr);
    assert.deepEqual(JSON.parse(byShort.stdout), { x: 1 });
    const byName = await cli('call', 'Alpha', 'demo.echo', '{"y": [2]}');
    assert.deepEqual(JSON.parse(byName.stdout), { y: [2] });
    const raw = await cli('call', 'com.example.alpha', 'getPlugins');
    assert.deepEqual(JSON.parse(raw.stdout), { plugins: ['demo', 'slow'] });
    const twinByShort = await cli('call', clientShortId('Twin#Linux#phone-2#'), 'demo.echo', '"two"');
    assert.equal(JSON.parse(twinByShort.stdout), 'two');
  });

  it('lists the candidates for an ambiguous or unknown client, with exit code 4', async () => {
    const twin = await cli('call', 'Twin', 'demo.echo');
    assert.equal(twin.code, 4, twin.stderr);
    assert.match(twin.stderr, /2 connected clients have the app name "Twin"; name one by its id or short id/);
    assert.match(twin.stderr, new RegExp(`candidates:\\n.*${clientShortId('Twin#Linux#phone-1#')} +Twin .*phone-1[^\\n]*\\n.*${clientShortId('Twin#Linux#phone-2#')} +Twin .*phone-2`));
    const nobody = await cli('call', 'Nobody', 'demo.echo');
    assert.equal(nobody.code, 4);
    assert.match(nobody.stderr, /No connected client has the id, short id, app id or app name "Nobody"/);
    assert.match(nobody.stderr, /candidates:\n(.*\n){3}/);
  });

  it('exits 1 for an app error, 5 for a timeout and 2 for bad params', async () => {
    const failed = await cli('call', 'Alpha', 'demo.fail');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /the app answered demo\.fail with an error: .*asked to fail/);
    const slow = await cli('call', 'Alpha', 'slow.hang', '--timeout', '300');
    assert.equal(slow.code, 5, slow.stderr);
    assert.match(slow.stderr, /answer to execute/);
    const bad = await cli('call', 'Alpha', 'demo.echo', '{not json');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /\[params-json\] is not JSON/);
    const usage = await cli('call', 'Alpha');
    assert.equal(usage.code, 2);
  });

  it('follows the events of one client and plugin until Ctrl-C', async () => {
    const api = host.container.get(HttpApiService);
    const readersBefore = api.feed.readerCount;
    const child = spawn(process.execPath, [CLI_PATH, 'events', '--client', 'Alpha', '--plugin', 'demo', '--json', '--cert-dir', certDir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = once(child, 'exit');
    try {
      await eventually(() => api.feed.readerCount > readersBefore, `the events command to subscribe (${err})`);
      apps.get('twin1')!.demo.connection!.send('tick', { from: 'twin' });
      apps.get('alpha')!.demo.connection!.send('tick', { from: 'alpha', n: 1 });
      apps.get('alpha')!.demo.connection!.send('tick', { from: 'alpha', n: 2 });
      await eventually(() => out.split('\n').filter(Boolean).length >= 2, 'two events');
      child.kill('SIGINT');
      const [code] = await exited;
      assert.equal(code, 0, err);
      assert.equal(err, '', 'Ctrl-C ends quietly: no "host closed the API connection"');
      const events = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(events.map((e) => e.params), [{ from: 'alpha', n: 1 }, { from: 'alpha', n: 2 }]);
      assert.equal(events[0]!.clientId, 'Alpha#Linux#box#');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('ends quietly with exit 0 when the reader of its output goes away (events | head -1)', async () => {
    const api = host.container.get(HttpApiService);
    const readersBefore = api.feed.readerCount;
    const child = spawn(process.execPath, [CLI_PATH, 'events', '--client', 'Alpha', '--json', '--cert-dir', certDir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = once(child, 'exit');
    try {
      // As `head -1`: read the first line, then close the pipe.
      const firstLine = new Promise<string>((resolve) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) {
            child.stdout.destroy();
            resolve(out.split('\n')[0]!);
          }
        });
      });
      await eventually(() => api.feed.readerCount > readersBefore, `the events command to subscribe (${err})`);
      let n = 0;
      const ticks = setInterval(() => apps.get('alpha')!.demo.connection?.send('tick', { pipe: n++ }), 20);
      try {
        assert.match(await firstLine, /"pipe":0/);
        const [code] = await exited;
        assert.equal(code, 0, err);
        assert.doesNotMatch(err, /EPIPE|Error/, err);
      } finally {
        clearInterval(ticks);
      }
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('waits for an app with --wait, then calls it', async () => {
    const waiting = cli('call', 'Late', 'demo.echo', '{"late": true}', '--wait', '--timeout', '20000');
    await new Promise((r) => setTimeout(r, 500));
    await connect('late', 'Late', 'com.example.late', 'box');
    const result = await waiting;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { late: true });
    const ghost = await cli('call', 'Ghost', 'demo.echo', '--wait', '--timeout', '300');
    assert.equal(ghost.code, 5, ghost.stderr);
    assert.match(ghost.stderr, /No client "Ghost" connected within 300 ms/);
  });

  it('devices asks the running host, which sees this computer with its apps, and says so (issue 23)', async () => {
    // Only the desktop transport, so no adb or simulator tool is asked if the command fell back.
    const config = join(dir, 'devices.config.json');
    await writeFile(config, JSON.stringify({ certDir, plugins: { deviceTransports: ['desktop'] } }));
    const shown = await runCli(['devices', '--config', config], { cwd: dir });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stderr, new RegExp(`devices as the running host \\(pid ${process.pid}\\) sees them`));
    assert.match(shown.stdout, /^desktop:\n {2}\S+ +this computer +connected .*apps: Alpha, Twin/m);
    const json = await runCli(['devices', '--json', '--config', config], { cwd: dir });
    assert.equal(json.code, 0, json.stderr);
    const reports = JSON.parse(json.stdout) as Array<{ transport: string; devices: Array<{ name: string; details: Record<string, string> }> }>;
    assert.deepEqual(reports.map((r) => [r.transport, r.devices.map((d) => d.name)]), [['desktop', ['this computer']]]);

    // Without a host for the folder, this process asks the transports itself, and says so.
    const alone = join(dir, 'devices-alone.config.json');
    await writeFile(alone, JSON.stringify({ certDir: join(dir, 'no-host-certs'), plugins: { deviceTransports: ['desktop'] } }));
    const fallback = await runCli(['devices', '--config', alone], { cwd: dir });
    assert.equal(fallback.code, 0, fallback.stderr);
    assert.match(fallback.stderr, /no host is running for .*no-host-certs: devices found from this process/);
    assert.equal(fallback.stdout, 'desktop:\n  no devices\n');
  });

  it('removes api.json on a clean stop', async () => {
    for (const app of apps.values()) await app.stop();
    await host.stop();
    assert.equal(existsSync(join(certDir, 'api.json')), false);
    const status = await cli('status');
    assert.equal(status.code, 3);
  });
});

describe('help for the commands for a running host', () => {
  for (const command of ['status', 'clients', 'call', 'events']) {
    it(`${command} --help explains the command, its options and exit codes, exit 0`, async () => {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^Usage: sonarhost ${command}`));
      assert.match(result.stdout, /Exit codes:\n {2}0 +done\n(.*\n)* {2}3 +no sonarhost is running/);
      assert.match(result.stdout, /--cert-dir DIR/);
    });
  }

  it('devices --help names every kind of device it lists (Android, simulators, iPhones, this computer) and where the list comes from', async () => {
    const result = await runCli(['devices', '--help']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: sonarhost devices/);
    for (const kind of [/Android devices/, /iOS simulators/, /iPhones and iPads attached over USB/, /this\s+computer, for desktop apps/]) assert.match(result.stdout, kind);
    assert.match(result.stdout, /When a host is running for the certificate folder, the list is the one that host sees/);
  });

  it('lists them at the top level, and refuses an unknown option with exit code 2', async () => {
    const result = await runCli(['--help']);
    for (const command of ['status', 'clients', 'call', 'events']) assert.match(result.stdout, new RegExp(`\\n  ${command} +\\S`));
    const wrong = await runCli(['clients', '--bogus']);
    assert.equal(wrong.code, 2);
  });
});
