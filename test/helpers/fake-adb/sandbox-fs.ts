// The fake device's filesystem: device paths mapped into one host folder per device. Every device
// path is made absolute and normalised *as a device path* first (so `/data/../..` is `/`, as on the
// device), aliases are folded (`/data/user/0/<pkg>` is `/data/data/<pkg>`, `/storage/emulated/0` is
// `/sdcard`), and the host path is checked to stay inside the root, following symlinks too. No
// permission checks here: `user-fs.ts` adds them for the device's users.

import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export type FsErrorCode = 'ENOENT' | 'EACCES' | 'EISDIR' | 'ENOTDIR' | 'EEXIST' | 'ENOTEMPTY' | 'EINVAL';

const MESSAGES: Record<FsErrorCode, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EEXIST: 'File exists',
  ENOTEMPTY: 'Directory not empty',
  EINVAL: 'Invalid argument',
};

/** A filesystem failure with the strerror text Android's tools print (`cat: x: Permission denied`). */
export class FsError extends Error {
  constructor(readonly code: FsErrorCode, readonly devicePath: string) {
    super(MESSAGES[code]);
    this.name = 'FsError';
  }
}

export interface DeviceStat {
  type: 'file' | 'dir';
  size: number;
  /** Permission bits only (no file type bits). */
  mode: number;
  mtimeMs: number;
}

const ALIASES: Array<[string, string]> = [
  ['/data/user/0', '/data/data'],
  ['/storage/emulated/0', '/sdcard'],
  ['/storage/self/primary', '/sdcard'],
  ['/mnt/sdcard', '/sdcard'],
];

function toFsError(error: unknown, devicePath: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
    return new FsError(code, devicePath);
  }
  return error as Error;
}

export class SandboxFs {
  /** Modes set by chmod/push, by canonical path: kept apart from the host files so that a `chmod 000`
   *  on the device never makes the host folder unreadable or undeletable. */
  private readonly modes = new Map<string, number>();

  private constructor(readonly root: string, private readonly ownsRoot: boolean) {}

  /** A filesystem rooted at `root`, or at a fresh temporary folder (removed by `dispose`). */
  static async create(root?: string): Promise<SandboxFs> {
    if (root !== undefined) {
      await fs.mkdir(root, { recursive: true });
      return new SandboxFs(await fs.realpath(root), false);
    }
    const made = await fs.mkdtemp(path.join(tmpdir(), `fake-adb-fs-${randomBytes(3).toString('hex')}-`));
    return new SandboxFs(await fs.realpath(made), true);
  }

  async dispose(): Promise<void> {
    if (this.ownsRoot) await fs.rm(this.root, { recursive: true, force: true });
  }

  /** Absolute, normalised device path with aliases folded. Relative paths resolve against `cwd`. */
  canonical(devicePath: string, cwd = '/'): string {
    if (devicePath.includes('\0')) throw new FsError('EINVAL', devicePath);
    // posix.resolve against an absolute cwd never consults the host's cwd; `..` stops at `/`.
    let resolved = path.posix.resolve(cwd, devicePath);
    for (const [alias, target] of ALIASES) {
      if (resolved === alias || resolved.startsWith(`${alias}/`)) {
        resolved = target + resolved.slice(alias.length);
        break;
      }
    }
    return resolved;
  }

  /** The host path for a device path, refusing anything that would land outside the root. */
  async hostPath(devicePath: string): Promise<string> {
    const canonical = this.canonical(devicePath);
    const host = path.join(this.root, canonical);
    if (host !== this.root && !host.startsWith(this.root + path.sep)) throw new FsError('EACCES', devicePath);
    // Symlinks (which the device never makes, but a test fixture might) must not lead out either:
    // check the real path of the deepest part that exists.
    let existing = host;
    for (;;) {
      try {
        const real = await fs.realpath(existing);
        if (real !== this.root && !real.startsWith(this.root + path.sep)) throw new FsError('EACCES', devicePath);
        break;
      } catch (error) {
        if (error instanceof FsError) throw error;
        const parent = path.dirname(existing);
        if (parent === existing) break;
        existing = parent;
      }
    }
    return host;
  }

  async stat(devicePath: string): Promise<DeviceStat | undefined> {
    const host = await this.hostPath(devicePath);
    try {
      const st = await fs.stat(host);
      const type = st.isDirectory() ? 'dir' : 'file';
      const mode = this.modes.get(this.canonical(devicePath)) ?? (type === 'dir' ? 0o771 : 0o644);
      return { type, size: type === 'dir' ? 4096 : st.size, mode, mtimeMs: st.mtimeMs };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw toFsError(error, devicePath);
    }
  }

  async readFile(devicePath: string): Promise<Buffer> {
    const host = await this.hostPath(devicePath);
    try {
      return await fs.readFile(host);
    } catch (error) {
      throw toFsError(error, devicePath);
    }
  }

  /** Writes (or appends to) a file; the parent folder must exist, as for open(2). */
  async writeFile(devicePath: string, data: Buffer | string, options: { append?: boolean; mode?: number } = {}): Promise<void> {
    const host = await this.hostPath(devicePath);
    try {
      await fs.writeFile(host, data, { flag: options.append ? 'a' : 'w' });
    } catch (error) {
      throw toFsError(error, devicePath);
    }
    if (options.mode !== undefined) this.modes.set(this.canonical(devicePath), options.mode & 0o7777);
  }

  async mkdir(devicePath: string, options: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    const host = await this.hostPath(devicePath);
    try {
      await fs.mkdir(host, { recursive: options.recursive ?? false });
    } catch (error) {
      throw toFsError(error, devicePath);
    }
    if (options.mode !== undefined) this.modes.set(this.canonical(devicePath), options.mode & 0o7777);
  }

  /** Names in a folder, sorted as `ls` sorts them (byte order). */
  async readdir(devicePath: string): Promise<string[]> {
    const host = await this.hostPath(devicePath);
    try {
      return (await fs.readdir(host)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    } catch (error) {
      throw toFsError(error, devicePath);
    }
  }

  async remove(devicePath: string, options: { recursive?: boolean } = {}): Promise<void> {
    const host = await this.hostPath(devicePath);
    if (host === this.root) throw new FsError('EACCES', devicePath);
    try {
      const st = await fs.lstat(host);
      if (st.isDirectory()) {
        if (!options.recursive) throw new FsError('EISDIR', devicePath);
        await fs.rm(host, { recursive: true });
      } else {
        await fs.unlink(host);
      }
    } catch (error) {
      if (error instanceof FsError) throw error;
      throw toFsError(error, devicePath);
    }
    this.forgetModes(this.canonical(devicePath));
  }

  async rename(from: string, to: string): Promise<void> {
    const [hostFrom, hostTo] = [await this.hostPath(from), await this.hostPath(to)];
    try {
      await fs.rename(hostFrom, hostTo);
    } catch (error) {
      throw toFsError(error, from);
    }
    const [a, b] = [this.canonical(from), this.canonical(to)];
    for (const [key, mode] of [...this.modes]) {
      if (key === a || key.startsWith(`${a}/`)) {
        this.modes.delete(key);
        this.modes.set(b + key.slice(a.length), mode);
      }
    }
  }

  async copyFile(from: string, to: string): Promise<void> {
    const [hostFrom, hostTo] = [await this.hostPath(from), await this.hostPath(to)];
    try {
      await fs.copyFile(hostFrom, hostTo, fsConstants.COPYFILE_FICLONE);
    } catch (error) {
      throw toFsError(error, from);
    }
  }

  async chmod(devicePath: string, mode: number): Promise<void> {
    if ((await this.stat(devicePath)) === undefined) throw new FsError('ENOENT', devicePath);
    this.modes.set(this.canonical(devicePath), mode & 0o7777);
  }

  private forgetModes(canonical: string): void {
    for (const key of [...this.modes.keys()]) if (key === canonical || key.startsWith(`${canonical}/`)) this.modes.delete(key);
  }
}
