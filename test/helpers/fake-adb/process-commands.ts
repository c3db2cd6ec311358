// Commands that start or change processes: sh, run-as, su, cd, exit, sleep. Their messages are the
// ones the Android tools print, since our Android transport recognises them:
//   run-as: unknown package: <pkg>
//   run-as: package not an application: <pkg>
//   run-as: package not debuggable: <pkg>
//   run-as: Could not set capabilities: Operation not permitted      (Samsung builds; option)
//   run-as: exec failed for <cmd>: No such file or directory
//   /system/bin/sh: su: not found                                     (device not rooted)
// run-as and `su <uid> <cmd> …` exec their argv directly (no second parse, as execvp); `sh -c`,
// `su -c` and a run-as/su/sh without a command (reading the script from stdin, which is how Flipper's
// desktop drives them: `echo '<cmds>' | run-as <pkg>`) parse a script.

import { FsError } from './sandbox-fs.js';
import { type CommandIo, type ShellCommand, ShellExit, type ShellProcess, type ShellRuntime } from './shell-types.js';
import { type DeviceUser, ROOT_USER, SHELL_USER, appHome } from './user-fs.js';

/** Runs a child process for `user`: a script (stdin when `script` is undefined) or an argv. */
async function child(
  shell: ShellRuntime, parent: ShellProcess, io: CommandIo, user: DeviceUser, cwd: string,
  what: { script?: string; argv?: string[]; positional?: string[] }, tool: string,
): Promise<number> {
  const proc = shell.process(user, cwd, what.positional ?? ['/system/bin/sh'], parent.depth + 1);
  if (user.kind === parent.user.kind) {
    // Same user: the child inherits the environment (an export before `sh -c` is visible).
    for (const [name, value] of parent.vars) if (name !== 'HOME' && name !== 'USER') proc.vars.set(name, value);
  }
  if (what.argv !== undefined && what.argv.length > 0) {
    let status: number | undefined;
    try {
      status = await shell.exec(what.argv, proc, io);
    } catch (error) {
      if (!(error instanceof ShellExit)) throw error;
      status = error.status;
    }
    if (status === undefined) {
      io.err.write(`${tool}: exec failed for ${what.argv[0]}: No such file or directory\n`);
      return tool === 'run-as' ? 1 : 127;
    }
    return status;
  }
  const source = what.script ?? io.stdin.toString('utf8');
  // A script read from stdin has no stdin left of its own.
  const childIo = what.script === undefined ? { ...io, stdin: Buffer.alloc(0) } : io;
  return shell.runScript(source, proc, childIo);
}

const sh: ShellCommand = async (args, io, proc, shell) => {
  let i = 0;
  let command: string | undefined;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c') {
      command = args[++i];
      if (command === undefined) {
        io.err.write('sh: -c: option requires an argument\n');
        return 1;
      }
      i++;
      break;
    }
    if (arg === '--' || !arg.startsWith('-')) break;
    if (!/^-[eux]+$/.test(arg) && arg !== '-') {
      io.err.write(`sh: ${arg}: unknown option\n`);
      return 1;
    }
  }
  const rest = args.slice(i);
  if (command !== undefined) {
    return child(shell, proc, io, proc.user, proc.cwd, { script: command, positional: rest.length > 0 ? rest : ['sh'] }, 'sh');
  }
  if (rest.length > 0) {
    let script: string;
    try {
      script = (await proc.files.readFile(rest[0]!, proc.cwd)).toString('utf8');
    } catch (error) {
      if (!(error instanceof FsError)) throw error;
      io.err.write(`sh: can't open ${rest[0]}: ${error.message}\n`);
      return 127;
    }
    return child(shell, proc, io, proc.user, proc.cwd, { script, positional: rest }, 'sh');
  }
  return child(shell, proc, io, proc.user, proc.cwd, { positional: ['sh'] }, 'sh');
};

const runAs: ShellCommand = async (args, io, proc, shell) => {
  const usage = 'usage: run-as <package-name> [--user <uid>] <command> [<args>]\n';
  if (proc.user.kind === 'app') {
    io.err.write("run-as: only 'shell' or 'root' users can run this program\n");
    return 1;
  }
  const [pkg, ...rest] = args;
  if (pkg === undefined || pkg.startsWith('-')) {
    io.err.write(usage);
    return 1;
  }
  if (rest[0] === '--user') rest.splice(0, 2);
  else if (rest[0]?.startsWith('--user=')) rest.splice(0, 1);
  const info = shell.device.packages.get(pkg);
  if (info === undefined) {
    io.err.write(`run-as: unknown package: ${pkg}\n`);
    return 1;
  }
  if (info.isApplication === false) {
    io.err.write(`run-as: package not an application: ${pkg}\n`);
    return 1;
  }
  if (!info.debuggable) {
    io.err.write(`run-as: package not debuggable: ${pkg}\n`);
    return 1;
  }
  if (shell.device.runAsCapabilityBug) {
    io.err.write('run-as: Could not set capabilities: Operation not permitted\n');
    return 1;
  }
  const user: DeviceUser = { kind: 'app', pkg, uid: info.uid ?? 10000 };
  const home = appHome(pkg);
  await shell.device.fs.mkdir(home, { recursive: true });
  return child(shell, proc, io, user, home, { argv: rest }, 'run-as');
};

const su: ShellCommand = async (args, io, proc, shell) => {
  const rest = [...args];
  while (rest[0] === '-' || rest[0] === '-l' || rest[0] === '--login' || rest[0] === '-p' || rest[0] === '-mm') rest.shift();
  let user: DeviceUser = ROOT_USER;
  if (rest[0] !== undefined && /^(root|shell|u0_a[0-9]+|[0-9]+)$/.test(rest[0])) {
    // AOSP's su takes WHO as a name or a uid (android_name_to_id), Magisk's as getpwnam or a number.
    const who = rest.shift()!;
    const uid = who === 'root' ? 0 : who === 'shell' ? 2000 : who.startsWith('u0_a') ? 10000 + Number(who.slice(4)) : Number(who);
    if (uid === 2000) user = SHELL_USER;
    else if (uid >= 10000 && uid < 20000) {
      const pkg = [...shell.device.packages.values()].find((p) => p.uid === uid)?.package;
      user = pkg === undefined ? { kind: 'app', uid } : { kind: 'app', pkg, uid };
    } else if (uid !== 0) {
      io.err.write(`su: unknown user ${who}\n`);
      return 1;
    }
  }
  if (rest[0] === '-c' || rest[0] === '--command') {
    const script = rest[1];
    if (script === undefined) {
      io.err.write('su: option requires an argument -- c\n');
      return 1;
    }
    return child(shell, proc, io, user, proc.cwd, { script, positional: ['sh'] }, 'su');
  }
  return child(shell, proc, io, user, proc.cwd, { argv: rest }, 'su');
};

const cd: ShellCommand = async (args, io, proc) => {
  const target = args[0] ?? proc.vars.get('HOME') ?? '/';
  const prefix = proc.positional[0] ?? 'sh';
  try {
    const st = await proc.files.stat(target, proc.cwd);
    if (st === undefined) throw new FsError('ENOENT', target);
    if (st.type !== 'dir') throw new FsError('ENOTDIR', target);
    const canonical = proc.files.canonical(target, proc.cwd);
    if (!proc.files.canTraverse(canonical)) throw new FsError('EACCES', target);
    // Keep the path as the user wrote it (run-as's /data/user/0/<pkg> stays so for pwd).
    proc.cwd = target.startsWith('/') ? target.replace(/\/+$/, '') || '/' : canonical;
    return 0;
  } catch (error) {
    if (!(error instanceof FsError)) throw error;
    io.err.write(`${prefix}: cd: ${target}: ${error.message}\n`);
    return 2;
  }
};

const exit: ShellCommand = async (args, _io, proc) => {
  throw new ShellExit(args[0] === undefined ? proc.lastStatus : Number(args[0]) & 0xff);
};

/** Sleeps for real (tests use it for long-running commands), at most 60 s, waking when the device stops. */
const sleep: ShellCommand = async (args, io, _proc, shell) => {
  const seconds = Number(args[0]);
  if (!Number.isFinite(seconds) || seconds < 0) {
    io.err.write(`sleep: invalid number '${args[0] ?? ''}'\n`);
    return 1;
  }
  const signal = shell.device.signal;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, Math.min(seconds, 60) * 1000);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
  return 0;
};

export const PROCESS_COMMANDS: ReadonlyArray<[string, ShellCommand]> = [
  ['sh', sh], ['run-as', runAs], ['su', su], ['cd', cd], ['exit', exit], ['sleep', sleep],
];
