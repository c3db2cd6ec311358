// Who may touch what on the fake device, and the filesystem as one user sees it. The rules are
// Android's, reduced to zones: the adb shell user (uid 2000) owns /data/local/tmp and /sdcard; an app
// (what `run-as <pkg>` becomes) owns its private folder /data/data/<pkg> (= /data/user/0/<pkg>) and
// can read /data/local/tmp; root (`su`) may do anything inside the device's root folder. Folders
// above a zone can be traversed (stat) but not listed, like /data (drwxrwx--x) on a phone.

import * as path from 'node:path';
import { type DeviceStat, FsError, type SandboxFs } from './sandbox-fs.js';

export type DeviceUser =
  | { kind: 'shell' }
  | { kind: 'root' }
  | { kind: 'app'; pkg: string; uid: number };

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

const SYSTEM_READABLE = ['/system', '/vendor', '/proc'];

function within(candidate: string, base: string): boolean {
  return candidate === base || candidate.startsWith(base === '/' ? '/' : `${base}/`);
}

export class UserFs {
  constructor(readonly fs: SandboxFs, readonly user: DeviceUser) {}

  private writableZones(): string[] {
    if (this.user.kind === 'shell') return ['/data/local/tmp', '/sdcard'];
    if (this.user.kind === 'app') return [`/data/data/${this.user.pkg}`];
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

  /** stat(2): undefined when missing; EACCES when a parent cannot be traversed. */
  async stat(devicePath: string, cwd: string): Promise<DeviceStat | undefined> {
    const canonical = this.canonical(devicePath, cwd);
    if (canonical !== '/' && !this.canTraverse(path.posix.dirname(canonical))) throw new FsError('EACCES', devicePath);
    return this.fs.stat(canonical);
  }

  async readFile(devicePath: string, cwd: string): Promise<Buffer> {
    const canonical = this.canonical(devicePath, cwd);
    const st = await this.stat(devicePath, cwd);
    if (st === undefined) throw new FsError('ENOENT', devicePath);
    if (!this.canRead(canonical)) throw new FsError('EACCES', devicePath);
    if (st.type === 'dir') throw new FsError('EISDIR', devicePath);
    return this.fs.readFile(canonical);
  }

  async writeFile(devicePath: string, cwd: string, data: Buffer | string, options: { append?: boolean; mode?: number } = {}): Promise<void> {
    const canonical = this.canonical(devicePath, cwd);
    const parent = path.posix.dirname(canonical);
    if (!this.canTraverse(parent)) throw new FsError('EACCES', devicePath);
    const st = await this.fs.stat(canonical);
    if (st?.type === 'dir') throw new FsError('EISDIR', devicePath);
    if (!this.canWrite(canonical)) throw new FsError('EACCES', devicePath);
    const parentStat = await this.fs.stat(parent);
    if (parentStat === undefined) throw new FsError('ENOENT', devicePath);
    if (parentStat.type !== 'dir') throw new FsError('ENOTDIR', devicePath);
    await this.fs.writeFile(canonical, data, options);
  }

  async mkdir(devicePath: string, cwd: string, mode?: number): Promise<void> {
    const canonical = this.canonical(devicePath, cwd);
    const parent = path.posix.dirname(canonical);
    if (!this.canTraverse(parent)) throw new FsError('EACCES', devicePath);
    if ((await this.fs.stat(canonical)) !== undefined) throw new FsError('EEXIST', devicePath);
    const parentStat = await this.fs.stat(parent);
    if (parentStat === undefined) throw new FsError('ENOENT', devicePath);
    if (parentStat.type !== 'dir') throw new FsError('ENOTDIR', devicePath);
    if (!this.canWrite(parent)) throw new FsError('EACCES', devicePath);
    await this.fs.mkdir(canonical, { mode });
  }

  async readdir(devicePath: string, cwd: string): Promise<string[]> {
    const canonical = this.canonical(devicePath, cwd);
    const st = await this.stat(devicePath, cwd);
    if (st === undefined) throw new FsError('ENOENT', devicePath);
    if (st.type !== 'dir') throw new FsError('ENOTDIR', devicePath);
    if (!this.canRead(canonical)) throw new FsError('EACCES', devicePath);
    return this.fs.readdir(canonical);
  }

  async remove(devicePath: string, cwd: string, recursive: boolean): Promise<void> {
    const canonical = this.canonical(devicePath, cwd);
    const st = await this.stat(devicePath, cwd);
    if (st === undefined) throw new FsError('ENOENT', devicePath);
    if (st.type === 'dir' && !recursive) throw new FsError('EISDIR', devicePath);
    if (!this.canWrite(path.posix.dirname(canonical))) throw new FsError('EACCES', devicePath);
    await this.fs.remove(canonical, { recursive });
  }

  async rename(from: string, to: string, cwd: string): Promise<void> {
    const [a, b] = [this.canonical(from, cwd), this.canonical(to, cwd)];
    if ((await this.stat(from, cwd)) === undefined) throw new FsError('ENOENT', from);
    if (!this.canWrite(path.posix.dirname(a))) throw new FsError('EACCES', from);
    if (!this.canTraverse(path.posix.dirname(b)) || !this.canWrite(path.posix.dirname(b))) throw new FsError('EACCES', to);
    if ((await this.fs.stat(path.posix.dirname(b))) === undefined) throw new FsError('ENOENT', to);
    await this.fs.rename(a, b);
  }

  async chmod(devicePath: string, cwd: string, mode: number): Promise<void> {
    const canonical = this.canonical(devicePath, cwd);
    if ((await this.stat(devicePath, cwd)) === undefined) throw new FsError('ENOENT', devicePath);
    if (!this.canWrite(canonical)) throw new FsError('EACCES', devicePath);
    await this.fs.chmod(canonical, mode);
  }
}
