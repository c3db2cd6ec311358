import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { replaceFileSync } from '../../src/core/atomic-file.js';
import { readRegularFileSync } from '../../src/core/regular-file.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** The synchronous file helpers the device transports use on every exchange, against a hostile folder. */
describe('replaceFileSync and readRegularFileSync', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ path: dir, cleanup } = await makeTempDir()));
  afterEach(() => cleanup());

  it('writes a new file with the mode asked for, whatever the umask, and replaces an old one', async () => {
    const path = join(dir, 'device.crt');
    await writeFile(path, 'old', { mode: 0o600 });
    const umask = process.umask(0o077);
    try {
      replaceFileSync(path, 'new certificate', 0o644);
    } finally {
      process.umask(umask);
    }
    assert.equal(await readFile(path, 'utf8'), 'new certificate');
    assert.equal((await stat(path)).mode & 0o777, 0o644);
    assert.deepEqual(await readdir(dir), ['device.crt'], 'no temporary file is left');
  });

  it('removes a link planted at the name instead of writing through it', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'keep me');
    await symlink(victim, join(dir, 'sonarCA.crt'));
    replaceFileSync(join(dir, 'sonarCA.crt'), 'ca', 0o644);
    assert.equal(await readFile(victim, 'utf8'), 'keep me');
    assert.ok((await lstat(join(dir, 'sonarCA.crt'))).isFile());
  });

  it('refuses a folder at the name and leaves no temporary file', async () => {
    await mkdir(join(dir, 'device.crt'));
    assert.throws(() => replaceFileSync(join(dir, 'device.crt'), 'x'), /EISDIR|EPERM/);
    assert.deepEqual(await readdir(dir), ['device.crt']);
  });

  it('reads a regular file, and refuses a link, a FIFO (without blocking), a device and a file over the limit', async () => {
    await writeFile(join(dir, 'app.csr'), 'csr text');
    assert.equal(readRegularFileSync(join(dir, 'app.csr'), 100).toString(), 'csr text');
    await symlink(join(dir, 'app.csr'), join(dir, 'link'));
    assert.throws(() => readRegularFileSync(join(dir, 'link'), 100), /is a symbolic link/);
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    // A blocking open of a FIFO without a writer never returns: this line returning is the check.
    assert.throws(() => readRegularFileSync(join(dir, 'fifo'), 100), /is not a regular file/);
    assert.throws(() => readRegularFileSync('/dev/zero', 100), /is not a regular file/);
    assert.throws(() => readRegularFileSync(join(dir, 'app.csr'), 4), /is larger than 4 bytes/);
  });
});
