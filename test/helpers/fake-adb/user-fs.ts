// Who may touch what on the fake device, and the filesystem as one user sees it. The rules are
// Android's, reduced to zones: the adb shell user (uid 2000) owns /data/local/tmp and /sdcard; an app
// (what `run-as <pkg>` becomes) owns its private folder /data/data/<pkg> (= /data/user/0/<pkg>) and
// can read /data/local/tmp; root (`su`) may do anything inside the device's root folder. Folders
// above a zone can be traversed (stat) but not listed, like /data (drwxrwx--x) on a phone. `/dev`
// (null, zero) is open to everyone.
//
// Permissions are checked on the path with its symbolic links resolved (what the kernel checks is
// the file reached), so a link planted by an app leads its writer only where that writer may go:
// a link followed by root reaches anything, one followed by the app's own uid only the app's zone.

import * as path from 'node:path';
import { type DeviceStat, FsError, type SandboxFs } from './sandbox-fs.js';

export type DeviceUser =
  | { kind: 'shell' }
  | { kind: 'root' }
  /** `pkg` is undefined for a uid no installed package has (`su 10999`): it owns nothing. */
  | { kind: 'app'; pkg?: string; uid: number };

export const SHELL_USER: DeviceUser = { kind: 'shell' };
export const ROOT_USER: DeviceUser = { kind: 'root' };

/** `shell`, `root` or `u0_a<n>`, as `whoami` prints it. */
export function userName(user: DeviceUser): string {
  if (user.kind === 'app') return `u0_a${user.uid - 10000}`;
  return user.kind;
}

/** The line `id` prints. */
export function idLine(user: DeviceUser): string {
  if (user.kind === 'root') return 'uid=0(root) gid=0(root) groups=0(root) context=u:r:su:s0';
  if (user.kind === 'shell') return 'uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats) context=u:r:shell:s0';
  const name = userName(user);
  return `uid=${user.uid}(${name}) gid=${user.uid}(${name}) groups=${user.uid}(${name}),3003(inet),9997(everybody),${user.uid + 10000}(${name}_cache),${user.uid + 40000}(all_a${user.uid - 10000}) context=u:r:untrusted_app:s0:c512,c768`;
}

/** The private folder of an app, as run-as shows it (`pwd`). */
export function appHome(pkg: string): string {
  return `/data/user/0/${pkg}`;
}

const SYSTEM_READABLE = ['/system', '/vendor', '/proc', '/dev'];

function within(candidate: string, base: string): boolean {
  return candidate === base || candidate.startsWith(base === '/' ? '/' : `${base}/`);
}

export class UserFs {
  constructor(readonly fs: SandboxFs, readonly user: DeviceUser) {}

  private writableZones(): string[] {
    if (this.user.kind === 'shell') return ['/data/local/tmp', '/sdcard'];
    if (this.user.kind === 'app') return this.user.pkg === undefined ? [] : [`/data/data/${this.user.pkg}`];
    return ['/'];
  }

  private readableZones(): string[] {
    const extra = this.user.kind === 'app' ? ['/data/local/tmp'] : [];
    return [...this.writableZones(), ...extra, ...SYSTEM_READABLE];
  }

  canRead(canonical: string): boolean {
    return this.readableZones().some((zone) => within(canonical, zone));
  }

  canWrite(canonical: string): boolean {
    return this.writableZones().some((zone) => within(canonical, zone));
  }

  /** May the user look inside folder `canonical` to reach a name in it (the x bit)? */
  canTraverse(canonical: string): boolean {
    return this.canRead(canonical) || this.readableZones().some((zone) => within(zone, canonical));
  }

  canonical(devicePath: string, cwd: string): string {
    return this.fs.canonical(devicePath, cwd);
  }

  /** The path with its links resolved (the last one only when `followLast`). */
  resolve(devicePath: string, cwd: string, followLast = true): Promise<string> {
    return this.fs.resolve(devicePath, followLast, cwd);
  }

  private async checkTraverse(resolved: string, devicePath: string): Promise<void> {
    if (resolved !== '/' && !this.canTraverse(path.posix.dirname(resolved))) throw new FsError('EACCES', devicePath);
  }

  /** stat(2): follows links; undefined when missing; EACCES when a parent cannot be traversed. */
  async stat(devicePath: string, cwd: string): Promise<DeviceStat | undefined> {
    const resolved = await this.resolve(devicePath, cwd);
    await this.checkTraverse(resolved, devicePath);
    return this.fs.stat(resolved);
  }

  /** lstat(2): a link at the last component is reported as a link. */
  async lstat(devicePath: string, cwd: string): Promise<DeviceStat | undefined> {
    const resolved = await this.resolve(devicePath, cwd, false);
    await this.checkTraverse(resolved, devicePath);
    return this.fs.lstat(resolved);
  }

  private async readable(devicePath: string, cwd: string): Promise<string> {
    const resolved = await this.resolve(devicePath, cwd);
    await this.checkTraverse(resolved, devicePath);
    const st = await this.fs.stat(resolved);
    if (st === undefined) throw new FsError('ENOENT', devicePath);
    if (!this.canRead(resolved)) throw new FsError('EACCES', devicePath);
    if (st.type === 'dir') throw new FsError('EISDIR', devicePath);
    return resolved;
  }

  async readFile(devicePath: string, cwd: string): Promise<Buffer> {
    return this.fs.readFile(await this.readable(devicePath, cwd));
  }

  /** The file in chunks (endless for /dev/zero). */
  async *readChunks(devicePath: string, cwd: string): AsyncGenerator<Buffer> {
    yield* this.fs.readChunks(await this.readable(devicePath, cwd));
  }

  async readlink(devicePath: string, cwd: string): Promise<string> {
    const resolved = await this.resolve(devicePath, cwd, false);
    await this.checkTraverse(resolved, devicePath);
    if (!this.canRead(path.posix.dirname(resolved)) && !this.canRead(resolved)) throw new FsError('EACCES', devicePath);
    return this.fs.readlink(resolved);
  }

  /** open(O_CREAT) and write: a link at the name is followed, and the file reached must be writable. */
  async writeFile(devicePath: string, cwd: string, data: Buffer | string, options: { append?: boolean; mode?: number } = {}): Promise<void> {
    const resolved = await this.resolve(devicePath, cwd);
    const parent = path.posix.dirname(resolved);
    if (!this.canTraverse(parent)) throw new FsError('EACCES', devicePath);
    const st = await this.fs.stat(resolved);
    if (st?.type === 'dir') throw new FsError('EISDIR', devicePath);
    if (st?.type === 'char') return this.fs.writeFile(resolved, data, options);
    if (!this.canWrite(resolved)) throw new FsError('EACCES', devicePath);
    const parentStat = await this.fs.stat(parent);
    if (parentStat === undefined) throw new FsError('ENOENT', devicePath);
    if (parentStat.type !== 'dir') throw new FsError('ENOTDIR', devicePath);
    await this.fs.writeFile(resolved, data, options);
  }

  async mkdir(devicePath: string, cwd: string, mode?: number): Promise<void> {
    const resolved = await this.resolve(devicePath, cwd, false);
    const parent = path.posix.dirname(resolved);
    if (!this.canTraverse(parent)) throw new FsError('EACCES', devicePath);
    if ((await this.fs.lstat(resolved)) !== undefined) throw new FsError('EEXIST', devicePath);
    const parentStat = await this.fs.stat(parent);
    if (parentStat === undefined) throw new FsError('ENOENT', devicePath);
    if (parentStat.type !== 'dir') throw new FsError('ENOTDIR', devicePath);
    if (!this.canWrite(parent)) throw new FsError('EACCES', devicePath);
    await this.fs.mkdir(resolved, { mode });
  }

  /** symlink(2): needs write access to the folder the link goes in; the target is not checked. */
  async symlink(target: string, devicePath: string, cwd: string): Promise<void> {
    const resolved = await this.resolve(devicePath, cwd, false);
    const parent = path.posix.dirname(resolved);
    if (!this.canTraverse(parent) || !this.canWrite(parent)) throw new FsError('EACCES', devicePath);
    if ((await this.fs.stat(parent)) === undefined) throw new FsError('ENOENT', devicePath);
    await this.fs.symlink(target, resolved);
  }

  async readdir(devicePath: string, cwd: string): Promise<string[]> {
    const resolved = await this.resolve(devicePath, cwd);
    const st = await this.stat(devicePath, cwd);
    if (st === undefined) throw new FsError('ENOENT', devicePath);
    if (st.type !== 'dir') throw new FsError('ENOTDIR', devicePath);
    if (!this.canRead(resolved)) throw new FsError('EACCES', devicePath);
    return this.fs.readdir(resolved);
  }

  /** unlink: a link is removed itself. */
  async remove(devicePath: string, cwd: string, recursive: boolean): Promise<void> {
    const resolved = await this.resolve(devicePath, cwd, false);
    const st = await this.lstat(devicePath, cwd);
    if (st === undefined) throw new FsError('ENOENT', devicePath);
    if (st.type === 'dir' && !recursive) throw new FsError('EISDIR', devicePath);
    if (!this.canWrite(path.posix.dirname(resolved))) throw new FsError('EACCES', devicePath);
    await this.fs.remove(resolved, { recursive });
  }

  /** rename(2): the names move (a link moves as a link; a link at `to` is replaced). */
  async rename(from: string, to: string, cwd: string): Promise<void> {
    const [a, b] = [await this.resolve(from, cwd, false), await this.resolve(to, cwd, false)];
    if ((await this.lstat(from, cwd)) === undefined) throw new FsError('ENOENT', from);
    if (!this.canWrite(path.posix.dirname(a))) throw new FsError('EACCES', from);
    if (!this.canTraverse(path.posix.dirname(b)) || !this.canWrite(path.posix.dirname(b))) throw new FsError('EACCES', to);
    if ((await this.fs.stat(path.posix.dirname(b))) === undefined) throw new FsError('ENOENT', to);
    await this.fs.rename(a, b);
  }

  /** chmod(2) follows a link: the file reached must be the user's. */
  async chmod(devicePath: string, cwd: string, mode: number): Promise<void> {
    const resolved = await this.resolve(devicePath, cwd);
    if ((await this.stat(devicePath, cwd)) === undefined) throw new FsError('ENOENT', devicePath);
    if (!this.canWrite(resolved)) throw new FsError('EACCES', devicePath);
    await this.fs.chmod(resolved, mode);
  }
}
