// The fake device's log and its `logcat` command. Tests put lines into the log (`push` for raw text,
// garbage included, `log` for a well-formed `threadtime` line); `logcat` prints the log and, unless
// told to dump (-d, -t), keeps following it: lines pushed after the stream opened arrive too. Each run
// is recorded in `sessions` with why it ended, so a test can prove the host closed the stream
// (`hangup`) rather than the device stopping or the command ending by itself.

import { EventEmitter } from 'node:events';
import { type CommandIo, type ShellCommand } from './shell-types.js';

export type FakeLogLevel = 'V' | 'D' | 'I' | 'W' | 'E' | 'F';

export interface FakeLogEntry {
  level?: FakeLogLevel;
  tag?: string;
  message: string;
  pid?: number;
  tid?: number;
  /** When the line was logged (default now); printed in the local time zone, as a device set to it does. */
  date?: Date;
}

export interface LogcatSession {
  args: string[];
  openedAt: Date;
  closedAt?: Date;
  /** `hangup`: the host closed the stream; `device-stopped`: the device vanished; `done`: a dump ended. */
  why?: 'hangup' | 'device-stopped' | 'done';
}

/** Lines the log keeps at most (oldest dropped first), like logcat's ring buffer. */
const MAX_LINES = 10_000;

export class FakeLogcat extends EventEmitter {
  /** The log, one output line each (without the newline), oldest first. */
  readonly lines: string[] = [];
  /** Every `logcat` run, in order. */
  readonly sessions: LogcatSession[] = [];

  /** Appends raw lines (anything: tests use it for garbage too); followers print them at once. */
  push(...lines: string[]): void {
    for (const line of lines) {
      this.lines.push(line);
      if (this.lines.length > MAX_LINES) this.lines.shift();
      this.emit('line', line);
    }
  }

  /** Appends a well-formed `logcat -v threadtime` line and returns it. */
  log(entry: FakeLogEntry): string {
    const line = formatThreadtime(entry);
    this.push(line);
    return line;
  }

  clear(): void {
    this.lines.length = 0;
  }

  /** `logcat` streams running now. */
  get following(): number {
    return this.sessions.filter((s) => s.closedAt === undefined).length;
  }
}

/** `MM-DD hh:mm:ss.mmm  PID  TID L TAG     : message`, as `logcat -v threadtime` prints it. */
export function formatThreadtime(entry: FakeLogEntry): string {
  const date = entry.date ?? new Date();
  const two = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
  const pid = String(entry.pid ?? 1234).padStart(5);
  const tid = String(entry.tid ?? entry.pid ?? 1234).padStart(5);
  return `${stamp} ${pid} ${tid} ${entry.level ?? 'I'} ${(entry.tag ?? 'FakeApp').padEnd(8)}: ${entry.message}`;
}

interface LogcatArgs {
  /** Print this many of the newest lines first (all when undefined). */
  tail?: number;
  dump: boolean;
  clear: boolean;
}

function parseArgs(args: string[], io: CommandIo): LogcatArgs | undefined {
  const parsed: LogcatArgs = { dump: false, clear: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-v') {
      const format = args[++i];
      if (format !== 'threadtime') {
        io.err.write(`logcat: the fake device prints only -v threadtime, not ${JSON.stringify(format)}\n`);
        return undefined;
      }
    } else if (arg === '-T' || arg === '-t') {
      const count = Number(args[++i]);
      if (!Number.isInteger(count) || count < 0) {
        io.err.write(`logcat: invalid count for ${arg}: ${JSON.stringify(args[i])}\n`);
        return undefined;
      }
      parsed.tail = count;
      if (arg === '-t') parsed.dump = true;
    } else if (arg === '-d') parsed.dump = true;
    else if (arg === '-c') parsed.clear = true;
    else if (arg.startsWith('-')) {
      io.err.write(`logcat: unsupported option on the fake device: ${arg}\n`);
      return undefined;
    }
    // Anything else is a filter spec (`*:I`): the fake prints everything.
  }
  return parsed;
}

/** `logcat [-v threadtime] [-T N | -t N | -d | -c] [filterspec…]` over the device's log. */
export const logcat: ShellCommand = async (args, io, _proc, shell) => {
  const log = shell.device.logcat;
  const options = parseArgs(args, io);
  if (options === undefined) return 1;
  if (options.clear) {
    log.clear();
    return 0;
  }
  const session: LogcatSession = { args: [...args], openedAt: new Date() };
  log.sessions.push(session);
  // Subscribe before printing the backlog, so that nothing pushed meanwhile is lost.
  const queue = options.tail === undefined ? [...log.lines] : options.tail === 0 ? [] : log.lines.slice(-options.tail);
  let wake: (() => void) | undefined;
  const onLine = (line: string): void => {
    queue.push(line);
    wake?.();
  };
  const onStop = (): void => wake?.();
  const device = shell.device.signal;
  log.on('line', onLine);
  device.addEventListener('abort', onStop);
  io.hangup?.addEventListener('abort', onStop);
  // Without a live reader (a pipe, runShell) following would never end: dump instead.
  const follow = !options.dump && io.drain !== undefined;
  try {
    for (;;) {
      for (const line of queue.splice(0)) io.out.write(`${line}\n`);
      const reading = io.drain === undefined || (await io.drain());
      // A vanishing device also closes its streams: say which came first.
      if (device.aborted) return end('device-stopped', 0);
      if (!reading || io.hangup?.aborted) return end('hangup', 141); // SIGPIPE: the reader left
      if (!follow) return end('done', 0);
      if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    log.off('line', onLine);
    device.removeEventListener('abort', onStop);
    io.hangup?.removeEventListener('abort', onStop);
  }

  function end(why: LogcatSession['why'], status: number): number {
    session.why = why;
    session.closedAt = new Date();
    log.emit('closed', session);
    return status;
  }
};

/** `screencap -p`: the device's screen (`FakeAndroidDevice.screen`) as PNG bytes on stdout. */
export const screencap: ShellCommand = async (args, io, _proc, shell) => {
  if (args.length !== 1 || args[0] !== '-p') {
    io.err.write(`screencap: the fake device supports only \`screencap -p\` (PNG to stdout), not ${JSON.stringify(args.join(' '))}\n`);
    return 1;
  }
  const hold = shell.device.screencapHold;
  if (hold !== undefined) {
    const stopped = [io.hangup, shell.device.signal].filter((s): s is AbortSignal => s !== undefined);
    await Promise.race([hold, ...stopped.map((s) => new Promise<void>((resolve) => (s.aborted ? resolve() : s.addEventListener('abort', () => resolve(), { once: true }))))]);
    if (stopped.some((s) => s.aborted)) return 141;
  }
  io.out.write(shell.device.screen);
  return 0;
};

export const DEVICE_COMMANDS: ReadonlyArray<[string, ShellCommand]> = [
  ['logcat', logcat],
  ['screencap', screencap],
];
