import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstat, mkdir, readFile, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freePorts } from '../helpers/free-ports.js';
import { writeIsolatedConfig } from '../helpers/host-config-file.js';
import { openssl } from '../helpers/openssl.js';
import { CLI_PATH, runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** A client certificate for `appId` issued by whatever CA is in `certDir` now, made by the openssl CLI. */
async function opensslClientCertificate(work: string, certDir: string, name: string): Promise<{ key: string; cert: string }> {
  await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/O=Flipper/CN=com.example.${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], { cwd: work });
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', join(certDir, 'ca.crt'), '-CAkey', join(certDir, 'ca.key'), '-set_serial', '1', '-out', `${name}.crt`], { cwd: work });
  return { key: await readFile(join(work, `${name}.key`), 'utf8'), cert: await readFile(join(work, `${name}.crt`), 'utf8') };
}

/**
 * A mutual-TLS handshake with the host, trusting only `ca`. TLS 1.2, so the server has checked the
 * client certificate before the handshake completes: resolves true when both sides accepted each other.
 */
function handshake(port: number, ca: string, client: { key: string; cert: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, ...client, maxVersion: 'TLSv1.2' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const pubkey = async (args: string[], cwd: string) => (await openssl(args, { cwd })).stdout;

/** The certificate folder changed by other processes: a running host, `sonarhost certs`, two first runs. */
describe('the certificate folder shared between processes', () => {
  let dir: string;
  let certDir: string;
  let cleanup: () => Promise<void>;
  let host: ChildProcess | undefined;
  beforeEach(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    certDir = join(dir, 'certs');
  });
  afterEach(async () => {
    host?.kill('SIGKILL');
    host = undefined;
    await cleanup();
  });

  it('a running host reloads every TLS listener after `certs --rotate-ca` in another process, and logs it', async () => {
    const [insecure, secure, wsSecure] = await freePorts(3);
    const config = await writeIsolatedConfig(dir, { insecure: insecure!, secure: secure! }, { webSocket: { insecure: false, secure: wsSecure, browser: false } });
    host = spawn(process.execPath, [CLI_PATH, 'start', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let logs = '';
    host.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    await until(() => logs.includes('sonarhost is running'), `the host to start:\n${logs}`);
    const caBefore = await readFile(join(certDir, 'ca.crt'), 'utf8');
    const before = await opensslClientCertificate(dir, certDir, 'before');
    await until(() => handshake(secure!, caBefore, before), 'the host to serve mutual TLS');

    const rotated = await runCli(['certs', '--cert-dir', certDir, '--rotate-ca', '--yes']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const caAfter = await readFile(join(certDir, 'ca.crt'), 'utf8');
    assert.notEqual(caAfter, caBefore);

    await until(() => logs.includes('reloaded the secure RSocket listeners') && logs.includes('reloaded the secure WebSocket listeners'), `the reload in the host's log:\n${logs}`);
    assert.match(logs, /the certificate folder was changed by another process/);
    const after = await opensslClientCertificate(dir, certDir, 'after');
    for (const port of [secure!, wsSecure!]) {
      assert.equal(await handshake(port, caAfter, after), true, `port ${port}: a device certificate from the new CA is accepted, and the server certificate chains to it`);
      assert.equal(await handshake(port, caBefore, before), false, `port ${port}: the old CA is no longer served or trusted`);
    }
    assert.equal(host.exitCode, null, 'the host kept running');
  });

  it('two first runs at once commit one CA: both report it, and ca.key, ca.crt and server.crt belong together', async () => {
    const runs = await Promise.all([0, 1].map(() => runCli(['certs', '--cert-dir', certDir, '--json'], { timeoutMs: 60_000 })));
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const reports = runs.map((run) => JSON.parse(run.stdout) as { ca: { sha256Fingerprint: string }; renewals: string[] });
    assert.equal(new Set(reports.map((r) => r.ca.sha256Fingerprint)).size, 1, 'every run reports the same CA');
    assert.equal(reports.filter((r) => r.renewals.some((line) => line.includes('created a new certificate authority'))).length, 1, 'exactly one run created it');

    assert.equal(await pubkey(['x509', '-in', 'ca.crt', '-noout', '-pubkey'], certDir), await pubkey(['pkey', '-in', 'ca.key', '-pubout'], certDir));
    assert.equal(await pubkey(['x509', '-in', 'server.crt', '-noout', '-pubkey'], certDir), await pubkey(['pkey', '-in', 'server.key', '-pubout'], certDir));
    await openssl(['verify', '-x509_strict', '-CAfile', 'ca.crt', 'server.crt'], { cwd: certDir });
    assert.deepEqual((await readdir(certDir)).sort(), ['ca.crt', 'ca.key', 'server.crt', 'server.key'], 'no lock left behind');
  });

  it('takes over a lock left by a process that died, and says so', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    await once(dead, 'exit');
    await mkdir(certDir, { recursive: true, mode: 0o700 });
    await symlink(String(dead.pid), join(certDir, 'sonarhost.lock'));

    const result = await runCli(['certs', '--cert-dir', certDir], { timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /removed a stale lock of the certificate folder/);
    assert.match(result.stderr, new RegExp(`${dead.pid}`));
    await assert.rejects(lstat(join(certDir, 'sonarhost.lock')), { code: 'ENOENT' });
    await openssl(['verify', '-CAfile', 'ca.crt', 'server.crt'], { cwd: certDir });
  });
});
