import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that readers (and a crash) only ever see the old or the new content, never half of
 * it: write a temporary sibling, flush it to disk, then rename it over the target. The temporary file
 * is created exclusively with the final mode, so a private key is never readable by others, not even
 * for a moment. `durable: false` skips the flush, for files whose loss in a power cut costs nothing
 * that is not redone anyway (readers still never see half a file while the machine runs).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, options: { durable?: boolean } = {}): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode); // the umask may have narrowed the mode given to open()
    if (options.durable !== false) await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/**
 * Puts a complete new file at `path` in synchronous calls, for the certificates the device transports
 * write into an app's local folder on every exchange. Readers see the old file, then for an instant no
 * file, then the whole new one; never half of it. A link planted at the name is removed, never
 * followed. There is no flush: a certificate lost to a power cut is one the app asks for again.
 *
 * Why not {@link writeFileAtomic}: through the thread pool its calls cost about three times their CPU,
 * and a rename that replaces an existing file makes ext4 write the new file's data out first (~0.3 ms
 * of wall time and twice the CPU, measured here). Removing the old file before the rename avoids that,
 * which makes the whole write ~85 µs, cheap enough for the event loop. The instant without a file is
 * harmless here: the SDKs read their certificates only after the host has answered the exchange.
 */
export function replaceFileSync(path: string, data: string | Uint8Array, mode = 0o644): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
    fchmodSync(fd, mode); // the umask may have narrowed the mode given to open()
  } catch (error) {
    closeSync(fd);
    removeQuietly(temp);
    throw error;
  }
  closeSync(fd);
  try {
    removeQuietly(path);
    renameSync(temp, path);
  } catch (error) {
    removeQuietly(temp);
    throw error;
  }
}

/** Removes a file or link; a missing one is fine, anything else (a folder at the name) is thrown. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
