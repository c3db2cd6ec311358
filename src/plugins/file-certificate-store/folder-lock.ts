import { randomBytes } from 'node:crypto';
import { link, lstat, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostError } from '../../core/host-error.js';
import { type Logger } from '../../core/logger.js';
import { unwritable } from './write-error.js';

const RETRY_MS = 50;
/** Lock errors that mean nobody can write the folder, so there is no writer to exclude. */
const READ_ONLY = new Set(['EROFS', 'EACCES', 'EPERM']);
/**
 * Locks this process holds now, by path. Process-wide on purpose: a lock naming our own pid is live
 * exactly when it is in here (two stores on one folder in one process), and stale otherwise.
 */
const heldByThisProcess = new Map<string, number>();

/**
 * Serialises every change to the certificate folder, within this process and across processes (two
 * first runs at once, or `sonarhost certs --rotate-ca` beside a running host), so a key and its
 * certificate are always written by the same hand. The lock is a symbolic link whose target is its
 * owner's pid: created atomically with its content (no half-written lock, and it needs no data block on
 * a full disk). A lock whose owner is dead is moved aside and taken over.
 */
export class FolderLock {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    private readonly timeoutMs = 120_000,
  ) {}

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(async () => {
      const held = await this.acquire();
      try {
        return await work();
      } finally {
        if (held) {
          await unlink(this.path).catch(() => undefined);
          const count = heldByThisProcess.get(this.path)! - 1;
          if (count === 0) heldByThisProcess.delete(this.path);
          else heldByThisProcess.set(this.path, count);
        }
      }
    });
    this.queue = result.catch(() => undefined); // one failure must not wedge every later change
    return result;
  }

  /** False when the folder cannot be written at all: the work runs unlocked and fails on its first write, if any. */
  private async acquire(): Promise<boolean> {
    const started = Date.now();
    for (;;) {
      try {
        await symlink(String(process.pid), this.path);
        heldByThisProcess.set(this.path, (heldByThisProcess.get(this.path) ?? 0) + 1);
        return true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (READ_ONLY.has(code)) return false;
        if (code !== 'EEXIST') throw unwritable(this.path, error);
      }
      const holder = await this.holder();
      if (holder === undefined) continue; // released between our two calls
      if (holder.stale) {
        await this.removeStale(holder.ino, holder.pid);
        continue;
      }
      if (Date.now() - started > this.timeoutMs) {
        throw new HostError(
          'cert-dir-locked',
          `The certificate folder is locked by process ${holder.pid ?? '(unknown)'} (${this.path}) for more than ${Math.round(this.timeoutMs / 1000)} s. ` +
            'Wait for the other sonarhost to finish; if no such process runs, delete the lock.',
        );
      }
      await sleep(RETRY_MS);
    }
  }

  private async holder(): Promise<{ pid: number | undefined; ino: number; stale: boolean } | undefined> {
    try {
      const { ino } = await lstat(this.path);
      const target = await readlink(this.path);
      const pid = /^\d{1,10}$/.test(target) ? Number(target) : undefined;
      // Not a pid: not our lock format, so no process can be holding it. Our own pid on a lock this
      // process does not hold: left by an earlier process that had our pid.
      const stale = pid === undefined || (pid === process.pid ? !heldByThisProcess.has(this.path) : !alive(pid));
      return { pid, ino, stale };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'EINVAL') throw new HostError('cert-dir-unwritable', `${this.path} is in the way of the certificate folder's lock: remove it.`);
      throw error;
    }
  }

  /**
   * Moves the stale lock aside rather than unlinking it: if another process replaced it meanwhile,
   * what was moved is its live lock, which is put back.
   */
  private async removeStale(ino: number, pid: number | undefined): Promise<void> {
    const aside = `${this.path}.${randomBytes(6).toString('hex')}.stale`;
    try {
      await rename(this.path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if ((await lstat(aside)).ino !== ino) await link(aside, this.path).catch(() => undefined);
    else this.log.warn('removed a stale lock of the certificate folder: its owner is gone', { lock: this.path, pid: pid ?? 'unknown' });
    await unlink(aside).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}
