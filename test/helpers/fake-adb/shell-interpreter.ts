// Runs parsed scripts (shell-parser.ts) for the fake device: expansion, redirections, pipelines,
// && / ||, and dispatch to the commands in shell-commands.ts. It is a model, not a shell: commands
// run one after another with buffered I/O (a pipeline feeds each command the previous one's whole
// output), which is all that adb's request/response style of use needs.
//
// What makes it a test instrument: every script it parses and every command it runs (with argv,
// user and cwd) is reported to the device's `ShellRecorder`, and command substitutions are parsed
// but never run — they are recorded and the command that contains them fails with
// `<sh>: <source>: command substitution is disabled on the fake device`.

import { COMMANDS, commandName } from './shell-commands.js';
import { type Pipeline, type Script, type SimpleCommand, type Word, ShellSyntaxError, findSubstitutions, parseScript } from './shell-parser.js';
import {
  BufferSink, type CommandIo, NULL_SINK, type OutputSink, type ShellDevice, ShellExit, type ShellProcess, type ShellRuntime,
} from './shell-types.js';
import { type DeviceUser, UserFs, userName } from './user-fs.js';

class SubstitutionRefused extends Error {
  constructor(readonly source: string) {
    super(`${source}: command substitution is disabled on the fake device`);
  }
}

const MAX_DEPTH = 16;

export class ShellInterpreter implements ShellRuntime {
  constructor(readonly device: ShellDevice) {}

  /** A fresh process for `user`, starting in `cwd`. */
  process(user: DeviceUser, cwd: string, positional: string[] = ['/system/bin/sh'], depth = 0): ShellProcess {
    const vars = new Map<string, string>([
      ['PATH', '/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:/system_ext/bin:/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin'],
      ['HOME', user.kind === 'app' ? cwd : '/'],
      ['USER', userName(user)],
      ['SHELL', '/system/bin/sh'],
      ['TMPDIR', '/data/local/tmp'],
      ['ANDROID_DATA', '/data'],
      ['EXTERNAL_STORAGE', '/sdcard'],
      ['HOSTNAME', 'localhost'],
    ]);
    return { user, files: new UserFs(this.device.fs, user), cwd, vars, positional, lastStatus: 0, depth };
  }

  /**
   * Parses and runs `source` in `proc`. `flush` (top level only) is called after each command list
   * item so output reaches the adb stream as the script progresses.
   */
  async runScript(source: string, proc: ShellProcess, io: CommandIo, flush?: () => Promise<void>): Promise<number> {
    const prefix = proc.positional[0] ?? 'sh';
    if (proc.depth > MAX_DEPTH) {
      io.err.write(`${prefix}: too many nested shells\n`);
      return 1;
    }
    let script: Script;
    try {
      script = parseScript(source);
    } catch (error) {
      if (!(error instanceof ShellSyntaxError)) throw error;
      io.err.write(`${prefix}: syntax error: ${error.message}\n`);
      return 2;
    }
    for (const found of findSubstitutions(script)) {
      this.device.recorder.substitution({ source: found, script: source, user: userName(proc.user) });
    }
    try {
      for (const andOr of script) {
        if (this.device.signal.aborted) break;
        let status = await this.runPipeline(andOr.first, proc, io);
        for (const { op, pipeline } of andOr.rest) {
          if ((op === '&&') === (status === 0)) status = await this.runPipeline(pipeline, proc, io);
        }
        proc.lastStatus = status;
        if (flush) await flush();
      }
    } catch (error) {
      if (error instanceof ShellExit) {
        proc.lastStatus = error.status;
        if (flush) await flush();
        return error.status;
      }
      throw error;
    }
    return proc.lastStatus;
  }

  /** Runs argv directly, as execvp would (no parsing): run-as and `su 0 cmd …` do this. */
  async exec(argv: string[], proc: ShellProcess, io: CommandIo): Promise<number | undefined> {
    const name = commandName(argv[0] ?? '');
    const command = COMMANDS.get(name);
    if (command === undefined || (name === 'su' && !this.device.rooted)) return undefined;
    this.device.recorder.executed({ argv: [...argv], user: userName(proc.user), cwd: proc.cwd });
    // `exit` (ShellExit) unwinds to the script that runs it; run-as and su catch it for a direct argv.
    return command(argv.slice(1), io, proc, this);
  }

  private async runPipeline(pipeline: Pipeline, proc: ShellProcess, io: CommandIo): Promise<number> {
    let stdin = io.stdin;
    let status = 0;
    for (let i = 0; i < pipeline.commands.length; i++) {
      const last = i === pipeline.commands.length - 1;
      const piped = last ? undefined : new BufferSink();
      status = await this.runSimple(pipeline.commands[i]!, proc, { stdin, out: piped ?? io.out, err: io.err, ...(piped || !io.drain ? {} : { drain: io.drain, ...(io.hangup ? { hangup: io.hangup } : {}) }) });
      if (piped) stdin = piped.take();
    }
    return pipeline.negate ? (status === 0 ? 1 : 0) : status;
  }

  private async runSimple(command: SimpleCommand, proc: ShellProcess, io: CommandIo): Promise<number> {
    const prefix = proc.positional[0] ?? 'sh';
    let argv: string[];
    const assignments: Array<[string, string]> = [];
    const redirects: Array<{ fd: number; op: string; target: string }> = [];
    try {
      for (const assignment of command.assignments) assignments.push([assignment.name, this.expandJoined(assignment.value, proc)]);
      argv = [];
      for (const word of command.words) argv.push(...this.expandFields(word, proc));
      for (const redirect of command.redirects) redirects.push({ fd: redirect.fd, op: redirect.op, target: this.expandJoined(redirect.target, proc) });
    } catch (error) {
      if (error instanceof SubstitutionRefused) {
        io.err.write(`${prefix}: ${error.message}\n`);
        return 1;
      }
      throw error;
    }

    // Redirections are set up before the command runs (a failing one means it does not run).
    const fds: Array<OutputSink | undefined> = [undefined, io.out, io.err];
    let stdin = io.stdin;
    const files: Array<{ sink: BufferSink; path: string }> = [];
    for (const redirect of redirects) {
      if (redirect.op === '>&' || redirect.op === '<&') {
        if (redirect.target === '-') {
          fds[redirect.fd] = NULL_SINK;
          continue;
        }
        const source = /^[0-9]$/.test(redirect.target) ? fds[Number(redirect.target)] : undefined;
        if (source === undefined) {
          io.err.write(`${prefix}: ${redirect.target}: bad file descriptor\n`);
          return 1;
        }
        fds[redirect.fd] = source;
        continue;
      }
      if (redirect.op === '<') {
        try {
          stdin = redirect.target === '/dev/null' ? Buffer.alloc(0) : await proc.files.readFile(redirect.target, proc.cwd);
        } catch (error) {
          io.err.write(`${prefix}: can't open ${redirect.target}: ${(error as Error).message}\n`);
          return 1;
        }
        continue;
      }
      if (redirect.target === '/dev/null') {
        fds[redirect.fd] = NULL_SINK;
        continue;
      }
      const append = redirect.op === '>>';
      try {
        // open(O_CREAT | (append ? O_APPEND : O_TRUNC)) happens now, before the command runs.
        await proc.files.writeFile(redirect.target, proc.cwd, '', { append: true });
        if (!append) await proc.files.writeFile(redirect.target, proc.cwd, '');
      } catch (error) {
        io.err.write(`${prefix}: can't create ${redirect.target}: ${(error as Error).message}\n`);
        return 1;
      }
      const sink = new BufferSink();
      files.push({ sink, path: redirect.target });
      fds[redirect.fd] = sink;
    }
    const cmdIo: CommandIo = { stdin, out: fds[1] ?? NULL_SINK, err: fds[2] ?? NULL_SINK };
    if (io.drain && fds[1] === io.out) {
      cmdIo.drain = io.drain;
      if (io.hangup) cmdIo.hangup = io.hangup;
    }

    let status: number;
    if (argv.length === 0) {
      for (const [name, value] of assignments) proc.vars.set(name, value);
      status = 0;
    } else {
      // Prefix assignments (`FOO=1 cmd`) only matter to the command; keep them for its duration.
      const saved = assignments.map(([name]) => [name, proc.vars.get(name)] as const);
      for (const [name, value] of assignments) proc.vars.set(name, value);
      try {
        const result = await this.exec(argv, proc, cmdIo);
        if (result === undefined) {
          cmdIo.err.write(`${prefix}: ${argv[0]}: not found\n`);
          status = 127;
        } else {
          status = result;
        }
      } finally {
        for (const [name, value] of saved) {
          if (value === undefined) proc.vars.delete(name);
          else proc.vars.set(name, value);
        }
        for (const file of files) {
          const data = file.sink.take();
          if (data.length > 0) await proc.files.writeFile(file.path, proc.cwd, data, { append: true }).catch(() => undefined);
        }
      }
    }
    return status;
  }

  private param(name: string, proc: ShellProcess): string[] {
    if (name === '@' || name === '*') return proc.positional.slice(1);
    if (name === '#') return [String(Math.max(0, proc.positional.length - 1))];
    if (name === '?') return [String(proc.lastStatus)];
    if (name === '$') return ['4242'];
    if (name === '!' || name === '-') return [''];
    if (/^[0-9]+$/.test(name)) return [proc.positional[Number(name)] ?? ''];
    return [proc.vars.get(name) ?? ''];
  }

  /** Expansion with field splitting (for command words). */
  expandFields(word: Word, proc: ShellProcess): string[] {
    const fields: string[] = [];
    let current = '';
    let exists = false; // a quoted part makes the field exist even when empty
    for (const part of word.parts) {
      if (part.kind === 'subst') throw new SubstitutionRefused(part.source);
      if (part.kind === 'text') {
        current += part.text;
        exists ||= part.quoted || part.text !== '';
        continue;
      }
      const values = this.param(part.name, proc);
      if (part.quoted) {
        if (part.name === '@') {
          // "$@": one field per positional parameter.
          values.forEach((value, i) => {
            if (i === 0) current += value;
            else {
              fields.push(current);
              current = value;
            }
          });
          exists ||= values.length > 0;
        } else {
          current += values.join(' ');
          exists = true;
        }
        continue;
      }
      // Unquoted: split on blanks (IFS), as sh does.
      const pieces = values.join(' ').split(/[ \t\n]+/);
      pieces.forEach((piece, i) => {
        if (i > 0 && (current !== '' || exists)) {
          fields.push(current);
          current = '';
          exists = false;
        }
        current += piece;
        exists ||= piece !== '';
      });
    }
    if (exists || current !== '') fields.push(current);
    return fields;
  }

  /** Expansion without field splitting (assignments, redirection targets). */
  expandJoined(word: Word, proc: ShellProcess): string {
    let out = '';
    for (const part of word.parts) {
      if (part.kind === 'subst') throw new SubstitutionRefused(part.source);
      out += part.kind === 'text' ? part.text : this.param(part.name, proc).join(' ');
    }
    return out;
  }
}

