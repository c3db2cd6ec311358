// Types shared by the fake device's shell interpreter and its commands (kept apart so that the
// commands and the interpreter do not import each other).

import { type FakePackage } from './device-options.js';
import { type FakeLogcat } from './fake-logcat.js';
import { type SandboxFs } from './sandbox-fs.js';
import { type DeviceUser, type UserFs } from './user-fs.js';

/** Where output goes: a buffer, the parent's output, or nowhere (/dev/null). */
export interface OutputSink {
  write(data: Buffer | string): void;
}

export class BufferSink implements OutputSink {
  private readonly chunks: Buffer[] = [];
  write(data: Buffer | string): void {
    this.chunks.push(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }
  take(): Buffer {
    const all = Buffer.concat(this.chunks);
    this.chunks.length = 0;
    return all;
  }
}

export const NULL_SINK: OutputSink = { write: () => undefined };

export interface CommandIo {
  stdin: Buffer;
  out: OutputSink;
  err: OutputSink;
  /**
   * Set when `out` is the adb stream itself: sends what was written so far, waiting for the host to
   * take it (adb's flow control); false once nobody reads any more (the stream closed), which ends a
   * command as SIGPIPE would. Commands that can write without end (`cat /dev/zero`) call it per chunk.
   */
  drain?: () => Promise<boolean>;
  /** Set with `drain`: aborted when the host closes the adb stream, so a command waiting for input to print (`logcat`) stops. */
  hangup?: AbortSignal;
}

/** One running shell (or a process started by run-as / su): user, folder, variables. */
export interface ShellProcess {
  user: DeviceUser;
  files: UserFs;
  cwd: string;
  vars: Map<string, string>;
  /** $0, $1, … ($0 also prefixes the shell's own error messages, as in mksh). */
  positional: string[];
  lastStatus: number;
  depth: number;
}

export interface ExecutedCommand {
  argv: string[];
  /** `shell`, `root` or `u0_a<n>`. */
  user: string;
  cwd: string;
}

export interface SubstitutionAttempt {
  /** The substitution as written, e.g. `$(id)` or `` `id` ``. */
  source: string;
  /** The whole script it was found in. */
  script: string;
  user: string;
}

/** Receives what the shell parses and runs, for tests to inspect. */
export interface ShellRecorder {
  executed(entry: ExecutedCommand): void;
  substitution(entry: SubstitutionAttempt): void;
}

/** What the shell knows of the device. */
export interface ShellDevice {
  readonly fs: SandboxFs;
  readonly packages: ReadonlyMap<string, FakePackage>;
  readonly rooted: boolean;
  readonly runAsCapabilityBug: boolean;
  properties(): Map<string, string>;
  readonly recorder: ShellRecorder;
  /** The device's log, which `logcat` prints and follows. */
  readonly logcat: FakeLogcat;
  /** What `screencap -p` prints. */
  readonly screen: Buffer;
  /** When set, `screencap` waits for it (or the host hanging up) before printing: a slow device. */
  readonly screencapHold: Promise<void> | undefined;
  /** Aborted when the device stops or vanishes: sleeping commands wake and scripts stop. */
  readonly signal: AbortSignal;
}

/** Thrown by `exit`: unwinds to the script (or exec) that runs it. */
export class ShellExit extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

/** The interpreter as commands see it (sh, run-as and su start nested processes through it). */
export interface ShellRuntime {
  readonly device: ShellDevice;
  process(user: DeviceUser, cwd: string, positional?: string[], depth?: number): ShellProcess;
  runScript(source: string, proc: ShellProcess, io: CommandIo): Promise<number>;
  /** Runs argv without parsing, as execvp; undefined when there is no such command. */
  exec(argv: string[], proc: ShellProcess, io: CommandIo): Promise<number | undefined>;
}

/** A command: gets its arguments (argv without argv[0]) and returns its exit status. */
export type ShellCommand = (args: string[], io: CommandIo, proc: ShellProcess, shell: ShellRuntime) => Promise<number>;
