import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freePorts } from '../helpers/free-ports.js';
import { CLI_PATH, runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

describe('sonarhost doctor and config', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let ports: number[];
  let base: string[];
  beforeEach(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    ports = await freePorts(7);
    base = ['--cert-dir', join(dir, 'certs'), '--host', '127.0.0.1', '--ports', `${ports[0]},${ports[1]}`, '--alt-ports', `${ports[2]},${ports[3]}`, '--browser-port', String(ports[4]), '--api-port', String(ports[5]), '--flipper-port', String(ports[6])];
  });
  afterEach(() => cleanup());

  it('reports ok for a healthy setup and exits 0', async () => {
    assert.equal((await runCli(['certs', ...base])).code, 0);
    const result = await runCli(['doctor', ...base], { env: { PATH: '/nonexistent', ANDROID_HOME: '', ANDROID_SDK_ROOT: '' } });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`ok {4}port ${ports[0]} \\(RSocket insecure\\): free on 127\\.0\\.0\\.1`));
    assert.match(result.stdout, /ok {4}certificate folder: .* \(mode 0700\)/);
    assert.match(result.stdout, /ok {4}CA certificate: valid until \S+ \(364 days\)/);
    assert.match(result.stdout, /ok {4}server certificate: valid until \S+ \(29 days\)/);
    assert.match(result.stdout, /warn {2}adb: adb was not found.*\n {6}fix: needed only for Android apps/);
  });

  it('fails on a busy port and a damaged CA key, saying how to fix each, and exits 1', async () => {
    assert.equal((await runCli(['certs', ...base])).code, 0);
    await writeFile(join(dir, 'certs', 'ca.key'), 'garbage');
    const blocker = net.createServer().listen(ports[1], '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const result = await runCli(['doctor', ...base]);
      assert.equal(result.code, 1);
      assert.match(result.stdout, new RegExp(`fail {2}port ${ports[1]} \\(RSocket secure\\): in use on 127\\.0\\.0\\.1\\n {6}fix: stop the program using it, or move sonarhost's RSocket secure port with --ports INSECURE,SECURE \\(or FLIPPER_PORTS, or "ports" in the config file\\)`));
      assert.match(result.stdout, /fail {2}CA key: ca\.key is damaged .*\n {6}fix: restore it from a backup, or `sonarhost certs --rotate-ca --yes`/);
    } finally {
      blocker.close();
    }
  });

  it('recognises a sonarhost already serving these ports through its API, instead of reporting each port as a conflict', async () => {
    const host = spawn(process.execPath, [CLI_PATH, 'start', ...base], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    host.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await eventually(() => log.includes('sonarhost is running'), `the host to start:\n${log}`, 60_000);
      const result = await runCli(['doctor', ...base], { env: { PATH: '/nonexistent', ANDROID_HOME: '', ANDROID_SDK_ROOT: '' } });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, new RegExp(`^ok {4}sonarhost: already running \\(.*0 clients\\), API at http://127\\.0\\.0\\.1:${ports[5]}/$`, 'm'));
      assert.match(result.stdout, new RegExp(`^ok {4}ports ${ports.join(', ')}: in use by that sonarhost$`, 'm'));
      assert.doesNotMatch(result.stdout, /^fail/m);
      const json = JSON.parse((await runCli(['doctor', '--json', ...base])).stdout) as Array<{ name: string; fix?: string }>;
      assert.match(json.find((c) => c.name === 'sonarhost')?.fix ?? '', /--ports, --alt-ports, --browser-port, --api-port/);
    } finally {
      host.kill('SIGTERM');
      await once(host, 'exit');
    }
  });

  it('fails when the API port is taken by another program, naming the flag that moves it', async () => {
    assert.equal((await runCli(['certs', ...base])).code, 0);
    const blocker = net.createServer((socket) => socket.destroy()).listen(ports[5], '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const result = await runCli(['doctor', ...base], { env: { PATH: '/nonexistent', ANDROID_HOME: '', ANDROID_SDK_ROOT: '' } });
      assert.equal(result.code, 1, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
      assert.match(result.stdout, new RegExp(`fail {2}port ${ports[5]} \\(HTTP API\\): in use on 127\\.0\\.0\\.1\\n {6}fix: stop the program using it, or move sonarhost's HTTP API port with --api-port PORT or --api-port off \\(or SONARHOST_API_PORT`));
      assert.doesNotMatch(result.stdout, /already running/);
    } finally {
      blocker.close();
    }
  });

  it("fails when the Flipper UI API's port is taken, naming the flag, variable and key that move it", async () => {
    assert.equal((await runCli(['certs', ...base])).code, 0);
    const blocker = net.createServer((socket) => socket.destroy()).listen(ports[6], '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const result = await runCli(['doctor', ...base], { env: { PATH: '/nonexistent', ANDROID_HOME: '', ANDROID_SDK_ROOT: '' } });
      assert.equal(result.code, 1, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
      assert.match(result.stdout, new RegExp(`fail {2}port ${ports[6]} \\(Flipper's UI API\\): in use on 127\\.0\\.0\\.1\\n {6}fix: .*--flipper-port PORT or --flipper-port off \\(or SONARHOST_FLIPPER_PORT, or "flipperServer\\.port" in the config file\\)`));
      const off = await runCli(['doctor', ...base, '--flipper-port', 'off'], { env: { PATH: '/nonexistent', ANDROID_HOME: '', ANDROID_SDK_ROOT: '' } });
      assert.doesNotMatch(off.stdout, /Flipper's UI API/);
    } finally {
      blocker.close();
    }
  });

  it('shows where the Flipper UI port came from, and --help names its flag', async () => {
    const result = await runCli(['config', '--flipper-port', '7401'], { cwd: dir, env: { SONARHOST_CONFIG: '', SONARHOST_FLIPPER_PORT: '' } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^flipperServer = \{"port":7401\}\n {4}from flag --flipper-port$/m);
    assert.match((await runCli(['start', '--help'])).stdout, /--flipper-port P\|off +flipper-server-compatible API/);
  });

  it('prints the effective config with the origin of each value', async () => {
    await writeFile(join(dir, 'sonarhost.config.json'), JSON.stringify({ logLevel: 'warn', ports: { insecure: 7001, secure: 7002 } }));
    const result = await runCli(['config', '--json', '--ports', '7101,7102'], { cwd: dir, env: { FLIPPER_ALT_PORTS: '7201,7202', SONARHOST_CONFIG: '' } });
    assert.equal(result.code, 0, result.stderr);
    const { config, origins, file } = JSON.parse(result.stdout) as { config: { ports: unknown; logLevel: string; webSocket: unknown }; origins: Record<string, string>; file: string };
    assert.equal(file, join(dir, 'sonarhost.config.json'));
    assert.deepEqual(config.ports, { insecure: 7101, secure: 7102 });
    assert.equal(origins.ports, 'flag --ports');
    assert.equal(config.logLevel, 'warn');
    assert.equal(origins.logLevel, `file ${join(dir, 'sonarhost.config.json')}`);
    assert.deepEqual(config.webSocket, { insecure: 7201, secure: 7202, browser: 8333 });
    assert.equal(origins.webSocket, 'env FLIPPER_ALT_PORTS');
  });

  it('names every flag that set a value', async () => {
    const result = await runCli(['config', '--alt-ports', '7201,7202', '--browser-port', '7203'], { cwd: dir, env: { SONARHOST_CONFIG: '', FLIPPER_ALT_PORTS: '', FLIPPER_BROWSER_PORT: '' } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^webSocket = \{"insecure":7201,"secure":7202,"browser":7203\}\n {4}from flag --alt-ports, flag --browser-port$/m);
  });

  it('exits 1 with the key and expected form for an invalid config', async () => {
    await writeFile(join(dir, 'sonarhost.config.json'), JSON.stringify({ webSocket: { browser: 'high' } }));
    const result = await runCli(['config'], { cwd: dir });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Invalid webSocket\.browser \(from file .*\): expected a port number from 1 to 65535, got "high"/);
  });

  it('names the line and column of a JSON syntax error, and every bad key of a file at once (issue 23)', async () => {
    const file = join(dir, 'sonarhost.config.json');
    await writeFile(file, '{\n  "logLevel": "warn",\n  "ports": }\n');
    const broken = await runCli(['config'], { cwd: dir, env: { SONARHOST_CONFIG: '' } });
    assert.equal(broken.code, 1, broken.stderr);
    assert.match(broken.stderr, /The config file .*sonarhost\.config\.json is not valid JSON: line 3, column 12: Unexpected token '\}'/);
    assert.doesNotMatch(broken.stderr, /position/);

    await writeFile(file, JSON.stringify({ logLevel: 'loud', ports: { insecure: 'x', secure: 8088 }, colour: 'blue' }, null, 2));
    const bad = await runCli(['config'], { cwd: dir, env: { SONARHOST_CONFIG: '' } });
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /3 problems in .*sonarhost\.config\.json:/);
    assert.match(bad.stderr, /\n {2}- Unknown key "colour" in .*Known keys: /);
    assert.match(bad.stderr, /\n {2}- Invalid logLevel \(from file .*\): expected .*got "loud"/);
    assert.match(bad.stderr, /\n {2}- Invalid ports\.insecure \(from file .*\): expected a port number from 1 to 65535, got "x"/);
  });
});
