// The fake device's command table: text commands here, files in file-commands.ts, processes in
// process-commands.ts. Commands may be named by a system path (`/system/bin/cat`).

import * as path from 'node:path';
import { DEVICE_COMMANDS } from './fake-logcat.js';
import { FILE_COMMANDS } from './file-commands.js';
import { PROCESS_COMMANDS } from './process-commands.js';
import { type ShellCommand } from './shell-types.js';
import { idLine, userName } from './user-fs.js';

const SYSTEM_DIRS = new Set(['/system/bin', '/system/xbin', '/bin', '/sbin', '/vendor/bin', '/apex/com.android.runtime/bin']);

/** `cat` for `cat` and `/system/bin/cat`; other paths stay as they are (and are not found). */
export function commandName(argv0: string): string {
  if (!argv0.includes('/')) return argv0;
  return SYSTEM_DIRS.has(path.posix.dirname(argv0)) ? path.posix.basename(argv0) : argv0;
}

/** The escapes of `echo -e` and printf formats. */
function unescape(text: string): { text: string; stop: boolean } {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\' || i === text.length - 1) {
      out += ch;
      continue;
    }
    const next = text[++i]!;
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b' };
    if (next in simple) out += simple[next];
    else if (next === 'c') return { text: out, stop: true };
    else if (next === '0') {
      const digits = /^[0-7]{0,3}/.exec(text.slice(i + 1))![0];
      out += String.fromCharCode(parseInt(digits || '0', 8));
      i += digits.length;
    } else out += `\\${next}`;
  }
  return { text: out, stop: false };
}

const echo: ShellCommand = async (args, io) => {
  let newline = true;
  let escapes = false;
  let i = 0;
  for (; i < args.length && /^-[neE]+$/.test(args[i]!); i++) {
    for (const flag of args[i]!.slice(1)) {
      if (flag === 'n') newline = false;
      else escapes = flag === 'e';
    }
  }
  let text = args.slice(i).join(' ');
  if (escapes) {
    const result = unescape(text);
    text = result.text;
    if (result.stop) newline = false;
  }
  io.out.write(newline ? `${text}\n` : text);
  return 0;
};

/** printf FORMAT [ARG…]: escapes apply to the format (and %b arguments), never to %s arguments. */
const printf: ShellCommand = async (args, io) => {
  const [format, ...values] = args;
  if (format === undefined) {
    io.err.write('printf: Needs 1 argument\n');
    return 1;
  }
  const pieces = format.split(/(%[-0-9.]*[sdibcxo%])/);
  let index = 0;
  let out = '';
  do {
    let consumed = false;
    for (const [i, piece] of pieces.entries()) {
      if (i % 2 === 0) {
        const literal = unescape(piece);
        out += literal.text;
        if (literal.stop) {
          io.out.write(out);
          return 0;
        }
        continue;
      }
      const conversion = piece[piece.length - 1]!;
      if (conversion === '%') {
        out += '%';
        continue;
      }
      const value = values[index++] ?? '';
      consumed = true;
      if (conversion === 's') out += value;
      else if (conversion === 'b') out += unescape(value).text;
      else if (conversion === 'c') out += value.slice(0, 1);
      else {
        const number = Number.parseInt(value || '0', 10) || 0;
        out += conversion === 'x' ? number.toString(16) : conversion === 'o' ? number.toString(8) : String(number);
      }
    }
    if (!consumed) break;
  } while (index < values.length);
  io.out.write(out);
  return 0;
};

const getprop: ShellCommand = async (args, io, _proc, shell) => {
  const props = shell.device.properties();
  if (args.length === 0) {
    const keys = [...props.keys()].sort();
    io.out.write(keys.map((key) => `[${key}]: [${props.get(key)}]\n`).join(''));
    return 0;
  }
  io.out.write(`${props.get(args[0]!) ?? args[1] ?? ''}\n`);
  return 0;
};

const test: ShellCommand = async (args, io, proc) => {
  const exists = async (file: string): Promise<Awaited<ReturnType<typeof proc.files.stat>>> => proc.files.stat(file, proc.cwd).catch(() => undefined);
  const evaluate = async (a: string[]): Promise<boolean> => {
    if (a[0] === '!') return !(await evaluate(a.slice(1)));
    if (a.length === 0) return false;
    if (a.length === 1) return a[0] !== '';
    if (a.length === 2) {
      const [op, operand] = a as [string, string];
      const canonical = proc.files.canonical(operand, proc.cwd);
      switch (op) {
        case '-n': return operand !== '';
        case '-z': return operand === '';
        case '-e': return (await exists(operand)) !== undefined;
        case '-f': return (await exists(operand))?.type === 'file';
        case '-d': return (await exists(operand))?.type === 'dir';
        case '-L': case '-h': return (await proc.files.lstat(operand, proc.cwd).catch(() => undefined))?.type === 'link';
        case '-c': return (await exists(operand))?.type === 'char';
        case '-s': return ((await exists(operand))?.size ?? 0) > 0;
        case '-r': return (await exists(operand)) !== undefined && proc.files.canRead(canonical);
        case '-w': return (await exists(operand)) !== undefined && proc.files.canWrite(canonical);
        default: throw new Error(`${op}: unknown operand`);
      }
    }
    if (a.length === 3) {
      const [left, op, right] = a as [string, string, string];
      const [l, r] = [Number(left), Number(right)];
      switch (op) {
        case '=': case '==': return left === right;
        case '!=': return left !== right;
        case '-eq': return l === r;
        case '-ne': return l !== r;
        case '-lt': return l < r;
        case '-le': return l <= r;
        case '-gt': return l > r;
        case '-ge': return l >= r;
        default: throw new Error(`${op}: unknown operand`);
      }
    }
    throw new Error('too many arguments');
  };
  try {
    return (await evaluate(args)) ? 0 : 1;
  } catch (error) {
    io.err.write(`test: ${(error as Error).message}\n`);
    return 2;
  }
};

const bracket: ShellCommand = async (args, io, proc, shell) => {
  if (args[args.length - 1] !== ']') {
    io.err.write("[: missing ']'\n");
    return 2;
  }
  return test(args.slice(0, -1), io, proc, shell);
};

const pm: ShellCommand = async (args, io, _proc, shell) => {
  if (args[0] === 'list' && args[1] === 'packages') {
    const filter = args.slice(2).find((a) => !a.startsWith('-'));
    for (const pkg of shell.device.packages.values()) {
      if (filter === undefined || pkg.package.includes(filter)) io.out.write(`package:${pkg.package}\n`);
    }
    return 0;
  }
  if (args[0] === 'path' && args[1] !== undefined) {
    if (!shell.device.packages.has(args[1])) return 1;
    io.out.write(`package:/data/app/${args[1]}-1/base.apk\n`);
    return 0;
  }
  io.err.write(`pm: unsupported by the fake device: ${args.join(' ')}\n`);
  return 1;
};

const which: ShellCommand = async (args, io, _proc, shell) => {
  let status = 0;
  for (const name of args) {
    if (COMMANDS.has(name) && (name !== 'su' || shell.device.rooted)) io.out.write(`/system/${name === 'su' ? 'xbin' : 'bin'}/${name}\n`);
    else status = 1;
  }
  return status;
};

const TEXT_COMMANDS: ReadonlyArray<[string, ShellCommand]> = [
  ['echo', echo],
  ['printf', printf],
  ['getprop', getprop],
  ['test', test],
  ['[', bracket],
  ['pm', pm],
  ['which', which],
  ['id', async (args, io, proc) => {
    const uid = proc.user.kind === 'root' ? 0 : proc.user.kind === 'shell' ? 2000 : proc.user.uid;
    if (args[0] === '-u' || args[0] === '-g') io.out.write(`${uid}\n`);
    else if (args[0] === '-un' || args[0] === '-nu') io.out.write(`${userName(proc.user)}\n`);
    else io.out.write(`${idLine(proc.user)}\n`);
    return 0;
  }],
  ['whoami', async (_args, io, proc) => (io.out.write(`${userName(proc.user)}\n`), 0)],
  ['pwd', async (_args, io, proc) => (io.out.write(`${proc.cwd}\n`), 0)],
  ['true', async () => 0],
  [':', async () => 0],
  ['false', async () => 1],
  ['env', async (_args, io, proc) => (io.out.write([...proc.vars].map(([k, v]) => `${k}=${v}\n`).join('')), 0)],
  ['export', async (args, _io, proc) => {
    for (const arg of args) {
      const eq = arg.indexOf('=');
      if (eq > 0) proc.vars.set(arg.slice(0, eq), arg.slice(eq + 1));
    }
    return 0;
  }],
  ['unset', async (args, _io, proc) => (args.forEach((name) => proc.vars.delete(name)), 0)],
];

export const COMMANDS: ReadonlyMap<string, ShellCommand> = new Map([...TEXT_COMMANDS, ...FILE_COMMANDS, ...PROCESS_COMMANDS, ...DEVICE_COMMANDS]);
