import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePorts } from '../helpers/free-ports.js';
import { writeIsolatedConfig } from '../helpers/host-config-file.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, startTestHost, withApi } from '../helpers/test-host.js';

/**
 * A second host on a certificate folder that a running host serves would replace its token and its
 * api.json: every tool would lose the first host (and stopping the second deleted the record). It is
 * refused instead, and the first host stays reachable.
 */
describe('a second host on the same certificate folder', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withApi);
  });
  after(async () => {
    await host.stop();
    await cleanup();
  });

  it('refuses to start, naming the running one, and leaves its token and record alone', async () => {
    const certDir = host.config.certDir;
    const tokenBefore = await readFile(join(certDir, 'api.token'), 'utf8');
    const recordBefore = await readFile(join(certDir, 'api.json'), 'utf8');
    const [insecure, secure, api] = await freePorts(3);
    const config = await writeIsolatedConfig(dir, { insecure: insecure!, secure: secure! }, { api: { port: api }, certDir });
    const second = await runCli(['start', '--config', config], { cwd: dir, timeoutMs: 60_000 }).catch((error: Error) => ({ code: -1, stdout: '', stderr: error.message }));
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`Another sonarhost \\(pid ${process.pid}, API http://127\\.0\\.0\\.1:${host.apiPort}.*is running for the certificate folder`));
    assert.equal(await readFile(join(certDir, 'api.token'), 'utf8'), tokenBefore, 'the token is the first host\'s');
    assert.equal(await readFile(join(certDir, 'api.json'), 'utf8'), recordBefore, 'the record is the first host\'s');
    const status = await runCli(['status', '--cert-dir', certDir], { cwd: dir });
    assert.equal(status.code, 0, status.stderr);
  });
});

/** Stopping removes the host's own api.json, and never a record another host wrote since. */
describe('api.json when a host stops', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ path: dir, cleanup } = await makeTempDir()));
  after(async () => await cleanup());

  it('is removed when it is this host\'s own record', async () => {
    const host = await startTestHost(join(dir, 'own'), withApi);
    const record = join(host.config.certDir, 'api.json');
    await access(record);
    await host.stop();
    await assert.rejects(access(record), { code: 'ENOENT' });
  });

  it('is left alone when another host has replaced it since', async () => {
    const host = await startTestHost(join(dir, 'replaced'), withApi);
    const record = join(host.config.certDir, 'api.json');
    const other = JSON.stringify({ url: 'http://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1/api/ws', pid: process.ppid, version: '0.0.0', startedAt: new Date(0).toISOString() }, null, 2) + '\n';
    await writeFile(record, other, { mode: 0o600 });
    await host.stop();
    assert.equal(await readFile(record, 'utf8'), other, 'the other host\'s record survives');
  });
});
