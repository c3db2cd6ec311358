import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { HostError } from '../../../src/core/host-error.js';
import { FileCertificateStore } from '../../../src/plugins/file-certificate-store/file-certificate-store.js';
import { ManualClock, MemoryLogger, testConfig } from '../../helpers/fakes.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

/** A small tmpfs of our own (root only), so a full or read-only disk can be real, not mocked. */
function mountTinyFs(path: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', path], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})`;
  }
}

describe('certificate folder faults', () => {
  let dir: string;
  let mountPoint: string;
  let cleanup: () => Promise<void>;
  let skip: string | undefined;

  beforeEach(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    mountPoint = join(dir, 'tiny');
    await mkdir(mountPoint);
    skip = mountTinyFs(mountPoint);
  });
  afterEach(async () => {
    if (!skip) execFileSync('umount', [mountPoint]);
    await cleanup();
  });

  const store = () => new FileCertificateStore(testConfig({ certDir: join(mountPoint, 'certs') }), new ManualClock(), new MemoryLogger());
  const digest = async (name: string) => createHash('sha256').update(await readFile(join(mountPoint, 'certs', name))).digest('hex');

  it('a full disk: a clear error, the previous files unchanged, nothing half-written', async (t) => {
    if (skip) return t.skip(skip);
    await store().prepare();
    const ca = [await digest('ca.key'), await digest('ca.crt')];
    await unlink(join(mountPoint, 'certs', 'server.crt'));
    // Fill the file system, leaving too little for a key and certificate.
    await writeFile(join(mountPoint, 'filler'), Buffer.alloc(1024)).catch(() => undefined);
    for (let size = 64 * 1024; size >= 256; size /= 2) {
      await writeFile(join(mountPoint, `filler-${size}`), Buffer.alloc(size)).catch(() => rm(join(mountPoint, `filler-${size}`), { force: true }));
    }
    await assert.rejects(store().prepare(), (error: unknown) => {
      assert.ok(HostError.is(error, 'cert-dir-unwritable'), String(error));
      assert.match((error as Error).message, /Cannot write .*(server\.crt|server\.srl) \(the disk is full\)\. The previous files are unchanged\..*--cert-dir/);
      return true;
    });
    assert.deepEqual([await digest('ca.key'), await digest('ca.crt')], ca);
    assert.deepEqual((await readdir(join(mountPoint, 'certs'))).filter((n) => n.endsWith('.tmp') || n.endsWith('.next')), []);
  });

  it('a read-only folder: a clear error, files unchanged', async (t) => {
    if (skip) return t.skip(skip);
    await store().prepare();
    const before = await digest('ca.crt');
    await unlink(join(mountPoint, 'certs', 'server.key'));
    execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
    await assert.rejects(store().prepare(), /Cannot write .*(server\.crt|server\.srl) \(the file system is read-only\)/);
    assert.equal(await digest('ca.crt'), before);
  });

  // Needs no tmpfs: without one, the mount point is a plain folder and the test runs there.
  it('a corrupt ca.crt stops start-up with the rotation advice and is left as it is', async () => {
    await store().prepare();
    await writeFile(join(mountPoint, 'certs', 'ca.crt'), '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
    const before = [await digest('ca.key'), await digest('ca.crt')];
    await assert.rejects(store().prepare(), /ca\.crt is not a readable PEM certificate.*--rotate-ca --yes/);
    assert.deepEqual([await digest('ca.key'), await digest('ca.crt')], before);
  });
});
