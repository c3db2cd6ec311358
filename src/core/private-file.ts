import { constants } from 'node:fs';
import { lstat, open, readFile, realpath } from 'node:fs/promises';

/** Why a file the CLI would trust with a secret (api.json, api.token) must not be used, or undefined. */
export class UntrustedFile extends Error {}

const MAX_PRIVATE_FILE_BYTES = 64 * 1024;

/**
 * Reads a file of the host's certificate folder that the CLI acts on: opened without following a
 * symbolic link (a hostile folder links api.token to the victim's), and only when it is a regular file
 * owned by this user and readable by nobody else (mode 0600), as the host writes it. A cloned
 * repository cannot pass: git never sets those modes.
 */
export async function readPrivateFile(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new UntrustedFile(`${path} is a symbolic link; sonarhost writes a plain file there`);
    throw error;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UntrustedFile(`${path} is not a regular file`);
    const problem = ownershipProblem(stat, 0o077, 'mode 0600');
    if (problem) throw new UntrustedFile(`${path} ${problem}`);
    if (stat.size > MAX_PRIVATE_FILE_BYTES) throw new UntrustedFile(`${path} is larger than sonarhost ever writes it`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** The certificate folder must be a folder of this user's that nobody else may enter (mode 0700). */
export async function checkPrivateFolder(path: string): Promise<void> {
  const stat = await lstat(path);
  // A link to the folder is fine (~/.sonar may point elsewhere): what it leads to is checked.
  const target = stat.isSymbolicLink() ? await lstat(await realpath(path)) : stat;
  if (!target.isDirectory()) throw new UntrustedFile(`${path} is not a folder`);
  const problem = ownershipProblem(target, 0o077, 'mode 0700');
  if (problem) throw new UntrustedFile(`the certificate folder ${path} ${problem}`);
}

function ownershipProblem(stat: { uid: number; mode: number }, forbidden: number, expected: string): string | undefined {
  if (typeof process.getuid !== 'function') return undefined; // Windows: no POSIX owners or modes to check
  if (stat.uid !== process.getuid()) return `belongs to another user (uid ${stat.uid}); sonarhost writes it as the user that runs the host`;
  if ((stat.mode & forbidden) !== 0) return `is open to other users (mode ${(stat.mode & 0o777).toString(8)}); sonarhost writes it with ${expected}`;
  return undefined;
}

/**
 * Whether `pid` is a running process of this user. A pid that exists but belongs to someone else (pid
 * 1, say, named by a hostile api.json) is not a host of ours.
 */
export async function processOfThisUser(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false; // gone, or not ours to signal
  }
  if (typeof process.getuid !== 'function') return true;
  const uid = process.getuid();
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  if (status !== undefined) {
    const real = /^Uid:\s+(\d+)/m.exec(status);
    return real !== null && Number(real[1]) === uid;
  }
  // No /proc (macOS): signalling succeeded, which for a non-root user already means the same owner.
  return uid !== 0;
}
