import { rename, stat, unlink } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/atomic-file.js';

/**
 * A key and its certificate must change together: a crash between the two writes would leave a key
 * that does not match its certificate. Both are first written as `<name>.next`; once both exist the
 * pair is committed by renaming, and `recover()` at start-up rolls an interrupted commit forward (or
 * drops a half-written one, which was never committed).
 */
export interface FilePair {
  keyPath: string;
  certPath: string;
}

export async function writePair(pair: FilePair, keyPem: string, certPem: string): Promise<void> {
  await writeFileAtomic(pair.keyPath + '.next', keyPem, 0o600);
  await writeFileAtomic(pair.certPath + '.next', certPem, 0o644); // commit point: both .next files exist
  await rename(pair.keyPath + '.next', pair.keyPath);
  await rename(pair.certPath + '.next', pair.certPath);
}

/** Returns a description of what was repaired, or undefined when nothing was pending. */
export async function recoverPair(pair: FilePair): Promise<string | undefined> {
  const keyNext = await exists(pair.keyPath + '.next');
  const certNext = await exists(pair.certPath + '.next');
  if (keyNext && certNext) {
    await rename(pair.keyPath + '.next', pair.keyPath);
    await rename(pair.certPath + '.next', pair.certPath);
    return 'completed an interrupted key and certificate update';
  }
  if (certNext) {
    await rename(pair.certPath + '.next', pair.certPath);
    return 'completed an interrupted certificate update';
  }
  if (keyNext) {
    await unlink(pair.keyPath + '.next');
    return 'discarded a key whose certificate was never written';
  }
  return undefined;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
