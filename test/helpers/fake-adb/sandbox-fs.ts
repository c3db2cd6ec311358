// The fake device's filesystem: device paths mapped into one host folder per device. Every device
// path is made absolute and normalised *as a device path* first (so `/data/../..` is `/`, as on the
// device), aliases are folded (`/data/user/0/<pkg>` is `/data/data/<pkg>`, `/storage/emulated/0` is
// `/sdcard`). No permission checks here: `user-fs.ts` adds them for the device's users.
//
// Symbolic links are the device's own: a link is a host symlink whose text is a *device* path, and
// this class resolves every path itself, component by component, as the kernel would (links in the
// middle are always followed, the last one only where the call follows it; 40 hops make ELOOP). The
// host never follows a link: every host path handed to node:fs is link-free up to its last part, so
// a link to `/dev/zero` or `/etc` means the device's, never the host's.
//
// Special files: `/dev/null` (empty, swallows writes) and `/dev/zero` (endless zeros: read it in
// chunks with `readChunks`; `readFile` refuses it, as slurping it would never end).

import { randomBytes } from 'node:crypto';
import { lstatSync, readlinkSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export type FsErrorCode = 'ENOENT' | 'EACCES' | 'EISDIR' | 'ENOTDIR' | 'EEXIST' | 'ENOTEMPTY' | 'EINVAL' | 'ELOOP' | 'EFBIG';

const MESSAGES: Record<FsErrorCode, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EEXIST: 'File exists',
  ENOTEMPTY: 'Directory not empty',
  EINVAL: 'Invalid argument',
  ELOOP: 'Too many symbolic links encountered',
  EFBIG: 'File too large',
};

/** A filesystem failure with the strerror text Android's tools print (`cat: x: Permission denied`). */
export class FsError extends Error {
  constructor(readonly code: FsErrorCode, readonly devicePath: string) {
    super(MESSAGES[code]);
    this.name = 'FsError';
  }
}

export interface DeviceStat {
  /** `link` only from `lstat`; `char` for /dev/null and /dev/zero. */
  type: 'file' | 'dir' | 'link' | 'char';
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

/** Character devices every device has, by canonical path. */
const SPECIAL: ReadonlyMap<string, 'null' | 'zero'> = new Map([['/dev/null', 'null'], ['/dev/zero', 'zero']]);
const MAX_HOPS = 40;
const CHUNK = 64 * 1024;

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

  /**
   * The device path with every symbolic link resolved (the last component only when `followLast`),
   * as the kernel walks it. Missing components are kept as written (for creating them).
   */
  async resolve(devicePath: string, followLast = true, cwd = '/'): Promise<string> {
    let pending = this.canonical(devicePath, cwd).split('/').filter(Boolean);
    let done = '/';
    let hops = 0;
    while (pending.length > 0) {
      const name = pending.shift()!;
      const candidate = path.posix.join(done, name);
      if ((pending.length === 0 && !followLast) || SPECIAL.has(candidate)) {
        done = candidate;
        continue;
      }
      // Synchronous on purpose: a path is walked for every file operation of every command, and one
      // thread-pool round trip per component made the fake device ten times slower under load.
      let info;
      try {
        info = lstatSync(path.join(this.root, candidate));
      } catch {
        return path.posix.join(candidate, ...pending); // the rest does not exist yet
      }
      if (!info.isSymbolicLink()) {
        done = candidate;
        continue;
      }
      if (++hops > MAX_HOPS) throw new FsError('ELOOP', devicePath);
      const target = readlinkSync(path.join(this.root, candidate));
      // A relative target counts from the link's folder; aliases fold again on the new path.
      pending = this.canonical(path.posix.join(this.canonical(target, done), ...pending)).split('/').filter(Boolean);
      done = '/';
    }
    return done;
  }

  /** The host path for a device path (links resolved as `resolve` does), always inside the root. */
  async hostPath(devicePath: string, followLast = true): Promise<string> {
    return this.hostOf(await this.resolve(devicePath, followLast));
  }

  private hostOf(resolved: string): string {
    const host = path.join(this.root, resolved);
    if (host !== this.root && !host.startsWith(this.root + path.sep)) throw new FsError('EACCES', resolved);
    return host;
  }

  /** stat(2): follows links; undefined when missing. */
  async stat(devicePath: string): Promise<DeviceStat | undefined> {
    return this.statResolved(await this.resolve(devicePath), devicePath);
  }

  /** lstat(2): a link at the last component is reported as `link`. */
  async lstat(devicePath: string): Promise<DeviceStat | undefined> {
    return this.statResolved(await this.resolve(devicePath, false), devicePath);
  }

  private async statResolved(resolved: string, devicePath: string): Promise<DeviceStat | undefined> {
    if (SPECIAL.has(resolved)) return { type: 'char', size: 0, mode: 0o666, mtimeMs: 0 };
    try {
      const st = await fs.lstat(this.hostOf(resolved));
      const type = st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file';
      const mode = type === 'link' ? 0o777 : (this.modes.get(resolved) ?? (type === 'dir' ? 0o771 : 0o644));
      return { type, size: type === 'dir' ? 4096 : st.size, mode, mtimeMs: st.mtimeMs };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw toFsError(error, devicePath);
    }
  }

  /** The text of the link at `devicePath` (EINVAL when it is not a link). */
  async readlink(devicePath: string): Promise<string> {
    const resolved = await this.resolve(devicePath, false);
    const st = await this.statResolved(resolved, devicePath);
    if (st === undefined) throw new FsError('ENOENT', devicePath);
    if (st.type !== 'link') throw new FsError('EINVAL', devicePath);
    return fs.readlink(this.hostOf(resolved));
  }

  /** symlink(2): creates `devicePath` as a link whose text is `target` (a device path, not resolved). */
  async symlink(target: string, devicePath: string): Promise<void> {
    if (target.includes('\0')) throw new FsError('EINVAL', target);
    const resolved = await this.resolve(devicePath, false);
    if (SPECIAL.has(resolved) || (await this.statResolved(resolved, devicePath)) !== undefined) throw new FsError('EEXIST', devicePath);
    try {
      await fs.symlink(target, this.hostOf(resolved));
    } catch (error) {
      throw toFsError(error, devicePath);
    }
  }

  /** Bytes handed out by /dev/zero so far (tests check that a reader that gave up stopped it). */
  endlessBytesRead = 0;

  async readFile(devicePath: string): Promise<Buffer> {
    const resolved = await this.resolve(devicePath);
    const special = SPECIAL.get(resolved);
    if (special === 'null') return Buffer.alloc(0);
    if (special === 'zero') throw new FsError('EFBIG', devicePath);
    try {
      return await fs.readFile(this.hostOf(resolved));
    } catch (error) {
      throw toFsError(error, devicePath);
    }
  }

  /** The file in chunks: what `cat` uses, so that /dev/zero streams for as long as the reader wants. */
  async *readChunks(devicePath: string): AsyncGenerator<Buffer> {
    const resolved = await this.resolve(devicePath);
    if (SPECIAL.get(resolved) === 'zero') {
      const zeros = Buffer.alloc(CHUNK);
      for (;;) {
        this.endlessBytesRead += zeros.length;
        yield zeros;
      }
    }
    yield await this.readFile(resolved);
  }

  /** Writes (or appends to) a file, following a link at its name; the parent folder must exist, as for open(2). */
  async writeFile(devicePath: string, data: Buffer | string, options: { append?: boolean; mode?: number } = {}): Promise<void> {
    const resolved = await this.resolve(devicePath);
    if (SPECIAL.has(resolved)) return;
    try {
      await fs.writeFile(this.hostOf(resolved), data, { flag: options.append ? 'a' : 'w' });
    } catch (error) {
      throw toFsError(error, devicePath);
    }
    if (options.mode !== undefined) this.modes.set(resolved, options.mode & 0o7777);
  }

  async mkdir(devicePath: string, options: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    const resolved = await this.resolve(devicePath, options.recursive ?? false);
    try {
      await fs.mkdir(this.hostOf(resolved), { recursive: options.recursive ?? false });
    } catch (error) {
      throw toFsError(error, devicePath);
    }
    if (options.mode !== undefined) this.modes.set(resolved, options.mode & 0o7777);
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

  /** unlink(2) or a recursive removal: a link is removed itself, never what it points to. */
  async remove(devicePath: string, options: { recursive?: boolean } = {}): Promise<void> {
    const resolved = await this.resolve(devicePath, false);
    const host = this.hostOf(resolved);
    if (host === this.root || SPECIAL.has(resolved)) throw new FsError('EACCES', devicePath);
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
    this.forgetModes(resolved);
  }

  /** rename(2): moves the name itself; a link at `to` is replaced, not followed. */
  async rename(from: string, to: string): Promise<void> {
    const [a, b] = [await this.resolve(from, false), await this.resolve(to, false)];
    try {
      await fs.rename(this.hostOf(a), this.hostOf(b));
    } catch (error) {
      throw toFsError(error, from);
    }
    this.forgetModes(b);
    for (const [key, mode] of [...this.modes]) {
      if (key === a || key.startsWith(`${a}/`)) {
        this.modes.delete(key);
        this.modes.set(b + key.slice(a.length), mode);
      }
    }
  }

  async copyFile(from: string, to: string): Promise<void> {
    await this.writeFile(to, await this.readFile(from));
  }

  /** chmod(2): follows links (a link's own mode never matters on Linux). */
  async chmod(devicePath: string, mode: number): Promise<void> {
    const resolved = await this.resolve(devicePath);
    if ((await this.statResolved(resolved, devicePath)) === undefined) throw new FsError('ENOENT', devicePath);
    if (SPECIAL.has(resolved)) return;
    this.modes.set(resolved, mode & 0o7777);
  }

  private forgetModes(canonical: string): void {
    for (const key of [...this.modes.keys()]) if (key === canonical || key.startsWith(`${canonical}/`)) this.modes.delete(key);
  }
}
