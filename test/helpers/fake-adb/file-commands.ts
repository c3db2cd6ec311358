// File commands of the fake device, with toybox's messages (`cat: <path>: No such file or directory`).
// Every access goes through the running process's UserFs, so permissions follow its user.

import * as path from 'node:path';
import { type DeviceStat, FsError } from './sandbox-fs.js';
import { type CommandIo, type ShellCommand, type ShellProcess, type ShellRuntime } from './shell-types.js';

/** Splits leading `-xyz` flags (until `--` or the first operand) into a set of letters. */
export function parseFlags(args: string[], allowed: string, tool: string, io: CommandIo): { flags: Set<string>; operands: string[] } | undefined {
  const flags = new Set<string>();
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    for (const letter of arg.slice(1)) {
      if (!allowed.includes(letter)) {
        io.err.write(`${tool}: Unknown option '${letter}'\n`);
        return undefined;
      }
      flags.add(letter);
    }
  }
  return { flags, operands: args.slice(i) };
}

function fail(io: CommandIo, tool: string, subject: string, error: unknown): void {
  if (!(error instanceof FsError)) throw error;
  io.err.write(`${tool}: ${subject}: ${error.message}\n`);
}

/** Without a live reader (a buffer, a pipe), an endless file stops here instead of filling the test's memory. */
const UNDRAINED_LIMIT = 1024 * 1024;

const cat: ShellCommand = async (args, io, proc, shell) => {
  let status = 0;
  for (const file of args.length === 0 ? ['-'] : args) {
    if (file === '-') {
      io.out.write(io.stdin);
      continue;
    }
    try {
      let undrained = 0;
      for await (const chunk of proc.files.readChunks(file, proc.cwd)) {
        io.out.write(chunk);
        if (io.drain) {
          if (!(await io.drain()) || shell.device.signal.aborted) return 141; // SIGPIPE: the reader left
        } else if ((undrained += chunk.length) > UNDRAINED_LIMIT) {
          throw new FsError('EFBIG', file);
        }
      }
    } catch (error) {
      fail(io, 'cat', file, error);
      status = 1;
    }
  }
  return status;
};

const touch: ShellCommand = async (args, io, proc) => {
  let status = 0;
  for (const file of args.filter((a) => !a.startsWith('-'))) {
    try {
      await proc.files.writeFile(file, proc.cwd, '', { append: true });
    } catch (error) {
      fail(io, 'touch', file, error);
      status = 1;
    }
  }
  return status;
};

const mkdir: ShellCommand = async (args, io, proc) => {
  let mode: number | undefined;
  const rest: string[] = [];
  const flagArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-m') mode = parseInt(args[++i] ?? '', 8);
    else if (args[i]!.startsWith('-m')) mode = parseInt(args[i]!.slice(2), 8);
    else if (args[i]!.startsWith('-') && rest.length === 0) flagArgs.push(args[i]!);
    else rest.push(args[i]!);
  }
  const parsed = parseFlags(flagArgs, 'pv', 'mkdir', io);
  if (parsed === undefined) return 1;
  if (rest.length === 0) {
    io.err.write('mkdir: Needs 1 argument\n');
    return 1;
  }
  let status = 0;
  for (const dir of rest) {
    try {
      if (parsed.flags.has('p')) {
        const canonical = proc.files.canonical(dir, proc.cwd);
        let current = '';
        for (const component of canonical.split('/').filter(Boolean)) {
          current += `/${component}`;
          const st = await proc.files.stat(current, '/');
          if (st === undefined) await proc.files.mkdir(current, '/', mode);
          else if (st.type !== 'dir') throw new FsError('ENOTDIR', dir);
        }
      } else {
        await proc.files.mkdir(dir, proc.cwd, mode);
      }
    } catch (error) {
      if (!(error instanceof FsError)) throw error;
      io.err.write(`mkdir: '${dir}': ${error.message}\n`);
      status = 1;
    }
  }
  return status;
};

function modeString(type: DeviceStat['type'], mode: number): string {
  const bits = 'rwxrwxrwx';
  let out = { file: '-', dir: 'd', link: 'l', char: 'c' }[type];
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}

function ownerOf(canonical: string): string {
  const app = /^\/data\/data\/([^/]+)/.exec(canonical);
  if (app !== null) return app[1]!.replace(/[^a-z0-9]/gi, '_').slice(0, 8);
  if (canonical.startsWith('/data/local/tmp') || canonical.startsWith('/sdcard')) return 'shell';
  return 'root';
}

/**
 * The uid owning a path. The fake keeps no owners: as on a phone, an app's private folder and what
 * is in it belong to the app's uid, /data/local/tmp and /sdcard to shell (2000), the rest to root.
 */
export function ownerUid(canonical: string, packages: ShellRuntime['device']['packages']): number {
  const app = /^\/data\/data\/([^/]+)/.exec(canonical);
  if (app !== null) return packages.get(app[1]!)?.uid ?? 0;
  if (canonical.startsWith('/data/local/tmp') || canonical.startsWith('/sdcard')) return 2000;
  return 0;
}

async function longLine(proc: ShellProcess, devicePath: string, name: string): Promise<string> {
  const st = await proc.files.lstat(devicePath, proc.cwd);
  if (st === undefined) return name;
  const owner = ownerOf(await proc.files.resolve(devicePath, proc.cwd, false));
  const when = new Date(st.mtimeMs).toISOString().slice(0, 16).replace('T', ' ');
  const link = st.type === 'link' ? ` -> ${await proc.files.readlink(devicePath, proc.cwd)}` : '';
  return `${modeString(st.type, st.mode)} 1 ${owner} ${owner} ${st.size} ${when} ${name}${link}`;
}

const ls: ShellCommand = async (args, io, proc) => {
  const parsed = parseFlags(args, 'alAd1FhRst', 'ls', io);
  if (parsed === undefined) return 1;
  const { flags } = parsed;
  const operands = parsed.operands.length === 0 ? ['.'] : parsed.operands;
  let status = 0;
  const files: string[] = [];
  const dirs: string[] = [];
  for (const operand of operands) {
    try {
      const st = await proc.files.stat(operand, proc.cwd);
      if (st === undefined) throw new FsError('ENOENT', operand);
      (st.type === 'dir' && !flags.has('d') ? dirs : files).push(operand);
    } catch (error) {
      fail(io, 'ls', operand, error);
      status = 1;
    }
  }
  const line = (devicePath: string, name: string): Promise<string> => (flags.has('l') ? longLine(proc, devicePath, name) : Promise.resolve(name));
  for (const file of files) io.out.write(`${await line(file, file)}\n`);
  for (const [index, dir] of dirs.entries()) {
    try {
      let names = await proc.files.readdir(dir, proc.cwd);
      if (!flags.has('a') && !flags.has('A')) names = names.filter((n) => !n.startsWith('.'));
      if (flags.has('a')) names = ['.', '..', ...names];
      if (operands.length > 1) io.out.write(`${index > 0 || files.length > 0 ? '\n' : ''}${dir}:\n`);
      for (const name of names) io.out.write(`${await line(path.posix.join(dir, name), name)}\n`);
    } catch (error) {
      fail(io, 'ls', dir, error);
      status = 1;
    }
  }
  return status;
};

const rm: ShellCommand = async (args, io, proc) => {
  const parsed = parseFlags(args, 'frRiv', 'rm', io);
  if (parsed === undefined) return 1;
  const force = parsed.flags.has('f');
  const recursive = parsed.flags.has('r') || parsed.flags.has('R');
  if (parsed.operands.length === 0 && !force) {
    io.err.write('rm: Needs 1 argument\n');
    return 1;
  }
  let status = 0;
  for (const file of parsed.operands) {
    try {
      await proc.files.remove(file, proc.cwd, recursive);
    } catch (error) {
      if (force && error instanceof FsError && error.code === 'ENOENT') continue;
      if (error instanceof FsError && error.code === 'EISDIR') {
        io.err.write(`rm: ${file}: is a directory\n`);
      } else {
        fail(io, 'rm', file, error);
      }
      status = 1;
    }
  }
  return status;
};

/** Resolves the destination of mv/cp: into a folder when the target is one. */
async function destination(proc: ShellProcess, source: string, target: string, many: boolean, io: CommandIo, tool: string): Promise<string | undefined> {
  const st = await proc.files.stat(target, proc.cwd).catch(() => undefined);
  if (st?.type === 'dir') return path.posix.join(target, path.posix.basename(source));
  if (many) {
    io.err.write(`${tool}: ${target}: Not a directory\n`);
    return undefined;
  }
  return target;
}

const mv: ShellCommand = async (args, io, proc) => {
  const parsed = parseFlags(args, 'fnvi', 'mv', io);
  if (parsed === undefined) return 1;
  if (parsed.operands.length < 2) {
    io.err.write('mv: Needs 2 arguments\n');
    return 1;
  }
  const target = parsed.operands[parsed.operands.length - 1]!;
  const sources = parsed.operands.slice(0, -1);
  let status = 0;
  for (const source of sources) {
    const to = await destination(proc, source, target, sources.length > 1, io, 'mv');
    if (to === undefined) return 1;
    try {
      await proc.files.rename(source, to, proc.cwd);
    } catch (error) {
      fail(io, 'mv', error instanceof FsError ? error.devicePath : source, error);
      status = 1;
    }
  }
  return status;
};

async function copyTree(proc: ShellProcess, from: string, to: string, recursive: boolean): Promise<void> {
  const st = await proc.files.stat(from, proc.cwd);
  if (st === undefined) throw new FsError('ENOENT', from);
  if (st.type === 'dir') {
    if (!recursive) throw new FsError('EISDIR', from);
    if ((await proc.files.stat(to, proc.cwd)) === undefined) await proc.files.mkdir(to, proc.cwd);
    for (const name of await proc.files.readdir(from, proc.cwd)) {
      await copyTree(proc, path.posix.join(from, name), path.posix.join(to, name), recursive);
    }
    return;
  }
  await proc.files.writeFile(to, proc.cwd, await proc.files.readFile(from, proc.cwd));
}

const cp: ShellCommand = async (args, io, proc) => {
  const parsed = parseFlags(args, 'rRfpavn', 'cp', io);
  if (parsed === undefined) return 1;
  if (parsed.operands.length < 2) {
    io.err.write('cp: Needs 2 arguments\n');
    return 1;
  }
  const recursive = parsed.flags.has('r') || parsed.flags.has('R') || parsed.flags.has('a');
  const target = parsed.operands[parsed.operands.length - 1]!;
  const sources = parsed.operands.slice(0, -1);
  let status = 0;
  for (const source of sources) {
    const to = await destination(proc, source, target, sources.length > 1, io, 'cp');
    if (to === undefined) return 1;
    try {
      await copyTree(proc, source, to, recursive);
    } catch (error) {
      if (error instanceof FsError && error.code === 'EISDIR' && error.devicePath === source) {
        io.err.write(`cp: Skipped dir '${source}'\n`);
      } else {
        fail(io, 'cp', error instanceof FsError ? error.devicePath : source, error);
      }
      status = 1;
    }
  }
  return status;
};

/** `755`, `0644`, or symbolic `u+x,go-w`, applied to `current`. */
export function parseMode(spec: string, current: number): number | undefined {
  if (/^[0-7]{1,4}$/.test(spec)) return parseInt(spec, 8);
  let mode = current;
  for (const clause of spec.split(',')) {
    const match = /^([ugoa]*)([+=-])([rwxXst]*)$/.exec(clause);
    if (match === null) return undefined;
    const who = match[1] === '' || match[1]!.includes('a') ? 'ugo' : match[1]!;
    let bits = 0;
    for (const w of who) {
      const shift = w === 'u' ? 6 : w === 'g' ? 3 : 0;
      for (const p of match[3]!) {
        if (p === 'r') bits |= 4 << shift;
        if (p === 'w') bits |= 2 << shift;
        if (p === 'x' || p === 'X') bits |= 1 << shift;
      }
    }
    if (match[2] === '+') mode |= bits;
    else if (match[2] === '-') mode &= ~bits;
    else {
      let mask = 0;
      for (const w of who) mask |= 7 << (w === 'u' ? 6 : w === 'g' ? 3 : 0);
      mode = (mode & ~mask) | bits;
    }
  }
  return mode;
}

const chmod: ShellCommand = async (args, io, proc) => {
  const recursive = args[0] === '-R';
  const rest = recursive ? args.slice(1) : args;
  if (rest.length < 2) {
    io.err.write('chmod: Needs 2 arguments\n');
    return 1;
  }
  const [spec, ...files] = rest as [string, ...string[]];
  let status = 0;
  const apply = async (file: string): Promise<void> => {
    const st = await proc.files.stat(file, proc.cwd);
    if (st === undefined) throw new FsError('ENOENT', file);
    const mode = parseMode(spec, st.mode);
    if (mode === undefined) throw new Error(`bad mode '${spec}'`);
    await proc.files.chmod(file, proc.cwd, mode);
    if (recursive && st.type === 'dir') {
      for (const name of await proc.files.readdir(file, proc.cwd)) await apply(path.posix.join(file, name));
    }
  };
  for (const file of files) {
    try {
      await apply(file);
    } catch (error) {
      if (error instanceof FsError) fail(io, 'chmod', error.devicePath, error);
      else {
        io.err.write(`chmod: ${(error as Error).message}\n`);
        return 1;
      }
      status = 1;
    }
  }
  return status;
};

/** `ln -s [-f] TARGET NAME`: symbolic links only (hard links are not modelled). */
const ln: ShellCommand = async (args, io, proc) => {
  const parsed = parseFlags(args, 'sfnv', 'ln', io);
  if (parsed === undefined) return 1;
  if (!parsed.flags.has('s')) {
    io.err.write('ln: hard links are not supported by the fake device (use -s)\n');
    return 1;
  }
  const [target, name] = parsed.operands;
  if (target === undefined || name === undefined || parsed.operands.length > 2) {
    io.err.write('ln: Needs 2 arguments\n');
    return 1;
  }
  try {
    if (parsed.flags.has('f') && (await proc.files.lstat(name, proc.cwd)) !== undefined) await proc.files.remove(name, proc.cwd, false);
    await proc.files.symlink(target, name, proc.cwd);
    return 0;
  } catch (error) {
    fail(io, 'ln', name, error);
    return 1;
  }
};

/** `readlink [-f] PATH`: the link's text, or with -f the path with every link resolved. */
const readlink: ShellCommand = async (args, io, proc) => {
  const parsed = parseFlags(args, 'fenq', 'readlink', io);
  if (parsed === undefined) return 1;
  const [file] = parsed.operands;
  if (file === undefined) return 1;
  try {
    io.out.write(`${parsed.flags.has('f') || parsed.flags.has('e') ? await proc.files.resolve(file, proc.cwd) : await proc.files.readlink(file, proc.cwd)}\n`);
    return 0;
  } catch {
    return 1; // toybox's readlink is silent on failure
  }
};

const FILE_TYPES: Record<DeviceStat['type'], string> = { file: 'regular file', dir: 'directory', link: 'symbolic link', char: 'character special file' };

/**
 * `stat [-L] -c FORMAT FILE…` (toybox): lstat unless -L. Formats: %u %g %U %G (owner, from the
 * path as `ownerUid` says), %a %A (mode), %F (type), %s (size), %n (name), %N (name -> target), %%.
 */
const stat: ShellCommand = async (args, io, proc, shell) => {
  let format: string | undefined;
  let follow = false;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c') format = args[++i];
    else if (arg.startsWith('-c')) format = arg.slice(2);
    else if (arg === '-L') follow = true;
    else if (arg.startsWith('-')) {
      io.err.write(`stat: Unknown option '${arg.slice(1)}'\n`);
      return 1;
    } else files.push(arg);
  }
  if (format === undefined || files.length === 0) {
    io.err.write('stat: the fake device supports only stat [-L] -c FORMAT FILE...\n');
    return 1;
  }
  let status = 0;
  for (const file of files) {
    try {
      const st = follow ? await proc.files.stat(file, proc.cwd) : await proc.files.lstat(file, proc.cwd);
      if (st === undefined) throw new FsError('ENOENT', file);
      const resolved = await proc.files.resolve(file, proc.cwd, follow);
      const uid = ownerUid(resolved, shell.device.packages);
      const name = (id: number): string => (id === 0 ? 'root' : id === 2000 ? 'shell' : `u0_a${id - 10000}`);
      const target = st.type === 'link' ? await proc.files.readlink(file, proc.cwd) : '';
      const values: Record<string, string> = {
        u: String(uid), g: String(uid), U: name(uid), G: name(uid), a: st.mode.toString(8), A: modeString(st.type, st.mode),
        F: st.type === 'file' && st.size === 0 ? 'regular empty file' : FILE_TYPES[st.type], s: String(st.size), n: file,
        N: st.type === 'link' ? `'${file}' -> '${target}'` : `'${file}'`, '%': '%',
      };
      io.out.write(`${format.replace(/%(.)/g, (whole, letter: string) => values[letter] ?? whole)}\n`);
    } catch (error) {
      if (!(error instanceof FsError)) throw error;
      io.err.write(`stat: '${file}': ${error.message}\n`);
      status = 1;
    }
  }
  return status;
};

export const FILE_COMMANDS: ReadonlyArray<[string, ShellCommand]> = [
  ['ln', ln], ['readlink', readlink], ['stat', stat],
  ['cat', cat], ['touch', touch], ['mkdir', mkdir], ['ls', ls], ['rm', rm], ['mv', mv], ['cp', cp], ['chmod', chmod],
];
