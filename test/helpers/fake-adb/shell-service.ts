// The `shell:<command>` and `exec:<command>` services (shell protocol v1, which adbkit always uses):
// the command line runs in the fake shell as the adb shell user in `/`; stdout and stderr go to the
// stream together, in order; the stream closes when the script ends. As with real adb v1, the exit
// status is not transmitted. `shell:` with no command is an interactive shell: each line written to
// the stream runs as it arrives, until `exit` or the stream closes (no prompt, no echo).

import { type AdbChannel } from './adb-channel.js';
import { type ServiceRunner } from './device-connection.js';
import { type ShellInterpreter } from './shell-interpreter.js';
import { BufferSink, type CommandIo } from './shell-types.js';
import { SHELL_USER } from './user-fs.js';

export interface ShellLogEntry {
  service: 'shell' | 'exec';
  /** The command line exactly as the adb server sent it ('' for an interactive shell). */
  command: string;
  at: Date;
}

/** `crlf`: the output passes a terminal that turns LF into CRLF (old adbd's `shell:`). */
export function shellService(interpreter: ShellInterpreter, service: 'shell' | 'exec', command: string, log: (entry: ShellLogEntry) => void, crlf = false): ServiceRunner {
  return async (channel: AdbChannel): Promise<void> => {
    log({ service, command, at: new Date() });
    const proc = interpreter.process(SHELL_USER, '/');
    const sink = new BufferSink();
    const flush = async (): Promise<void> => {
      const data = crlf ? toCrlf(sink.take()) : sink.take();
      if (data.length > 0 && !channel.isClosed) await channel.write(data);
    };
    const drain = async (): Promise<boolean> => {
      if (channel.isClosed) return false;
      await flush().catch(() => undefined);
      return !channel.isClosed;
    };
    if (command !== '') {
      // The host closing the stream (CLSE) is a hangup for a command that waits for more to print.
      const hangup = new AbortController();
      channel.attach({ onClose: () => hangup.abort() });
      const io: CommandIo = { stdin: Buffer.alloc(0), out: sink, err: sink, drain, hangup: hangup.signal };
      await interpreter.runScript(command, proc, io, flush);
      await flush();
      return;
    }
    await interactive(channel, interpreter, proc, { stdin: Buffer.alloc(0), out: sink, err: sink, drain }, flush);
  };
}

function interactive(channel: AdbChannel, interpreter: ShellInterpreter, proc: ReturnType<ShellInterpreter['process']>, io: CommandIo, flush: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    let pending = '';
    let done = false;
    const onData = async (data: Buffer): Promise<void> => {
      pending += data.toString('utf8');
      let newline: number;
      while (!done && (newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (/^\s*exit(\s|$)/.test(line)) {
          done = true;
          resolve();
          return;
        }
        await interpreter.runScript(line, proc, io, flush).catch(() => undefined);
      }
    };
    channel.attach({
      onData,
      onClose: () => {
        done = true;
        resolve();
      },
    });
  });
}

function toCrlf(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let lf = data.indexOf(0x0a); lf >= 0; lf = data.indexOf(0x0a, start)) {
    parts.push(data.subarray(start, lf), Buffer.from('\r\n'));
    start = lf + 1;
  }
  parts.push(data.subarray(start));
  return Buffer.concat(parts);
}
