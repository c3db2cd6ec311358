import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile, chmod } from 'node:fs/promises';
import * as http from 'node:http';
import type * as net from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { PROOF_SCHEME } from '../../src/core/host-proof.js';
import { freePorts } from '../helpers/free-ports.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, startTestHost, withApi } from '../helpers/test-host.js';

/**
 * A local attacker's server: answers every HTTP request and WebSocket upgrade as a host would
 * (200, `status: ok`), and records every byte it is sent, so a test can prove the victim's token never
 * reached it, nor any proof the real host would accept.
 */
async function startImpostor(): Promise<{ port: number; received: () => string; close: () => Promise<void> }> {
  let bytes = '';
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    bytes += `${req.method} ${req.url}\n${JSON.stringify(req.headers)}\n`;
    req.on('data', (d: Buffer) => (bytes += d.toString()));
    // It cannot prove the token, so it tries its luck with something sonarhost-shaped.
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ service: 'sonarhost', nonce: 'ab'.repeat(24), proof: 'cd'.repeat(32), status: 'ok', clients: 0 }));
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('data', (d: Buffer) => (bytes += d.toString('latin1')));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    bytes += `UPGRADE ${req.url}\n${JSON.stringify(req.headers)}\n`;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => bytes,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the CLI never hands its token to an impostor', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let token: string;
  let impostor: Awaited<ReturnType<typeof startImpostor>>;
  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withApi);
    token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
  });
  after(async () => {
    await host.stop();
    await cleanup();
  });
  afterEach(() => impostor?.close());

  const assertNothingUsableSent = () => {
    const seen = impostor.received();
    assert.ok(!seen.includes(token), 'the token reached the impostor');
    assert.ok(!seen.includes(PROOF_SCHEME), 'a client proof reached the impostor');
  };

  it('a hostile working folder (api.json naming its server, api.token linked to the real one) gets nothing', async () => {
    impostor = await startImpostor();
    const work = join(dir, 'cloned-repo');
    const certs = join(work, 'certs');
    await mkdir(certs, { recursive: true });
    await writeFile(join(work, 'sonarhost.config.json'), JSON.stringify({ certDir: './certs' }));
    await writeFile(join(certs, 'api.json'), JSON.stringify({ url: `http://127.0.0.1:${impostor.port}`, wsUrl: `ws://127.0.0.1:${impostor.port}/api/ws`, pid: 1, version: '9', startedAt: 'now' }));
    await symlink(join(host.config.certDir, 'api.token'), join(certs, 'api.token'));
    for (const command of [['status'], ['clients'], ['call', 'x', 'getPlugins'], ['events']]) {
      const result = await runCli(command, { cwd: work, env: { SONARHOST_CONFIG: '', SONARHOST_CERT_DIR: '' } });
      assert.equal(result.code, 3, `${command[0]}: ${result.stderr}`);
      assert.match(result.stderr, /Not talking to the host recorded in .*certs: .*(open to other users|symbolic link|another user)/, `${command[0]}: ${result.stderr}`);
    }
    assertNothingUsableSent();
  });

  it('even with a folder and files that pass every check, a server that cannot prove the token gets nothing', async () => {
    impostor = await startImpostor();
    // The real host's folder, as if the host had stopped and another program took its API port.
    const certDir = join(dir, 'squatted');
    await mkdir(certDir, { mode: 0o700 });
    await writeFile(join(certDir, 'api.token'), token + '\n', { mode: 0o600 });
    await writeFile(join(certDir, 'api.json'), JSON.stringify({ url: `http://127.0.0.1:${impostor.port}`, wsUrl: `ws://127.0.0.1:${impostor.port}/api/ws`, pid: process.pid, version: '9', startedAt: 'now' }), { mode: 0o600 });
    for (const command of [['status'], ['clients'], ['call', 'x', 'getPlugins']]) {
      const result = await runCli([...command, '--cert-dir', certDir], { cwd: dir });
      assert.equal(result.code, 3, `${command[0]}: ${result.stderr}`);
      assert.match(result.stderr, /is not the sonarhost of .*squatted \(it could not prove that it holds the token in this folder\); nothing was sent to it/);
    }
    assert.match(impostor.received(), /GET \/api\/hello\?nonce=[0-9a-f]+/, 'it was asked for its proof');
    assertNothingUsableSent();
  });

  it('doctor asks a squatter of the API port for its proof and sends it nothing usable', async () => {
    impostor = await startImpostor();
    const certDir = join(dir, 'doctor-squatted');
    await mkdir(certDir, { mode: 0o700 });
    await writeFile(join(certDir, 'api.token'), token + '\n', { mode: 0o600 });
    const config = join(dir, 'doctor.config.json');
    const [insecure, secure] = await freePorts(2);
    await writeFile(config, JSON.stringify({ host: '127.0.0.1', ports: { insecure, secure }, webSocket: { insecure: false, secure: false, browser: false }, api: { port: impostor.port }, flipperServer: { port: false }, certDir, plugins: { deviceTransports: ['desktop'] } }));
    const result = await runCli(['doctor', '--config', config], { cwd: dir, timeoutMs: 60_000 });
    assert.match(result.stdout, new RegExp(`a server at http://127\\.0\\.0\\.1:${impostor.port}/ answers like sonarhost but cannot prove it holds the token of this certificate folder`), result.stdout);
    assert.match(impostor.received(), /GET \/api\/hello\?nonce=/);
    assertNothingUsableSent();
  });

  it('api.json naming an address off loopback is refused before anything is sent', async () => {
    const certDir = join(dir, 'remote');
    await mkdir(certDir, { mode: 0o700 });
    await writeFile(join(certDir, 'api.token'), token + '\n', { mode: 0o600 });
    for (const url of ['http://192.0.2.1:8090', 'https://127.0.0.1:8090', 'http://127.0.0.1.evil.example:8090', 'http://user@127.0.0.1:8090']) {
      await writeFile(join(certDir, 'api.json'), JSON.stringify({ url, wsUrl: url.replace(/^https?/, 'ws') + '/api/ws', pid: process.pid, version: '9', startedAt: 'now' }), { mode: 0o600 });
      const result = await runCli(['status', '--cert-dir', certDir], { cwd: dir });
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /names an address that is not this machine's loopback/, url);
    }
  });

  it('the real host proves itself, and the commands work with a one-time proof', async () => {
    const status = await runCli(['status', '--cert-dir', host.config.certDir], { cwd: dir });
    assert.equal(status.code, 0, status.stderr);
    // A proof is good once: replaying the header the CLI would send is refused.
    const url = `http://127.0.0.1:${host.apiPort}`;
    const hello = (await (await fetch(`${url}/api/hello?nonce=${'12'.repeat(16)}`)).json()) as { nonce: string; proof: string };
    const { clientProof } = await import('../../src/core/host-proof.js');
    const authorization = `${PROOF_SCHEME} ${hello.nonce} ${clientProof(token, '12'.repeat(16), hello.nonce)}`;
    assert.equal((await fetch(`${url}/api/health`, { headers: { authorization } })).status, 200);
    assert.equal((await fetch(`${url}/api/health`, { headers: { authorization } })).status, 401, 'a spent proof is refused');
    const forged = `${PROOF_SCHEME} ${hello.nonce} ${'0'.repeat(64)}`;
    assert.equal((await fetch(`${url}/api/health`, { headers: { authorization: forged } })).status, 401);
  });

  it('a folder open to other users is refused, naming the mode to fix', async () => {
    const certDir = join(dir, 'open-folder');
    await mkdir(certDir, { mode: 0o700 });
    await writeFile(join(certDir, 'api.token'), token + '\n', { mode: 0o600 });
    await writeFile(join(certDir, 'api.json'), JSON.stringify({ url: `http://127.0.0.1:${host.apiPort}`, wsUrl: `ws://127.0.0.1:${host.apiPort}/api/ws`, pid: process.pid, version: '9', startedAt: 'now' }), { mode: 0o600 });
    await chmod(certDir, 0o755);
    const result = await runCli(['status', '--cert-dir', certDir], { cwd: dir });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /the certificate folder .*open-folder is open to other users \(mode 755\); sonarhost writes it with mode 0700/);
  });
});

describe('a new API token for every host start', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ path: dir, cleanup } = await makeTempDir()));
  after(() => cleanup());

  it('rewrites api.token at each start, and the old token is refused', async () => {
    const first = await startTestHost(dir, withApi);
    const old = (await readFile(join(first.config.certDir, 'api.token'), 'utf8')).trim();
    await first.stop();
    const second = await startTestHost(dir, withApi);
    try {
      const fresh = (await readFile(join(second.config.certDir, 'api.token'), 'utf8')).trim();
      assert.match(fresh, /^[0-9a-f]{64}$/);
      assert.notEqual(fresh, old);
      const url = `http://127.0.0.1:${second.apiPort}/api/health`;
      assert.equal((await fetch(url, { headers: { authorization: `Bearer ${old}` } })).status, 401);
      assert.equal((await fetch(url, { headers: { authorization: `Bearer ${fresh}` } })).status, 200);
    } finally {
      await second.stop();
    }
  });
});
