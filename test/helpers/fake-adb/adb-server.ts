// A private adb server per test: the real `adb` binary, run in the foreground (`adb nodaemon server`)
// on a free port in 20000-40000 with a temporary HOME (adb writes $HOME/.android/adbkey on first
// start) and TMPDIR, so the user's server on 5037 and their ~/.android keys are never touched.
// `stop()` asks it to quit (`adb -P <port> kill-server`) and kills our child process if it lingers.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import adbkit, { type Client as AdbkitClient } from '@devicefarmer/adbkit';

/** The adb binary the tests use (override with $FAKE_ADB_BINARY). */
export const ADB_BINARY = process.env.FAKE_ADB_BINARY ?? '/usr/bin/adb';

/** Whether the adb binary exists (tests skip with a reason otherwise). */
export function adbAvailable(): boolean {
  return existsSync(ADB_BINARY);
}

export interface AdbResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface AdbDeviceLine {
  serial: string;
  /** `device`, `unauthorized`, `offline`, … */
  state: string;
}

/** An adb server the tests talk to through the adb CLI and adbkit (see `adbServerAt`). */
export interface AdbServerHandle {
  readonly port: number;
  /** The temporary HOME (its .android/adbkey is this server's key). */
  readonly home: string;
  /** Environment for running adb against this server. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs `adb -P <port> <args…>` with this server's environment; never rejects on a non-zero exit. */
  adb(args: string[], timeoutMs?: number): Promise<AdbResult>;
  /** An adbkit client for this server. */
  client(): AdbkitClient;
  /** `adb devices`, parsed. */
  devices(): Promise<AdbDeviceLine[]>;
  /** Polls `adb devices` until `serial` is in `state` (or absent, for state `gone`). */
  waitForState(serial: string, state: string, timeoutMs?: number): Promise<void>;
}

/** A server this module started: it also has a log and can be stopped. */
export interface PrivateAdbServer extends AdbServerHandle {
  /** The server process. */
  readonly pid: number | undefined;
  /** What the server printed (its log, with nodaemon it goes to stderr). */
  output(): string;
  /** kill-server, then SIGKILL if it lingers; removes the temporary HOME. */
  stop(): Promise<void>;
}

/**
 * An adbkit client for a private server. adbkit's ESM default export is the CommonJS module object;
 * its `default` is the Adb class (pitfall 4). When its server is unreachable adbkit runs
 * `<bin> -P <port> start-server` with this process's environment, i.e. the user's HOME and keys:
 * `bin` is /bin/false so that a client outliving its server fails instead of starting a new one.
 */
export function createAdbkitClient(port: number): AdbkitClient {
  return adbkit.default.createClient({ host: '127.0.0.1', port, bin: '/bin/false' });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function pickPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (await portIsFree(port)) return port;
  }
  throw new Error('no free port found in 20000-40000 for a private adb server');
}

/** True when something answers adb's `host:version` on the port. */
function answersVersion(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => finish(false), 1000);
    let reply = '';
    function finish(ok: boolean): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    }
    socket.on('connect', () => socket.write('000chost:version'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.length >= 4) finish(reply.startsWith('OKAY'));
    });
    socket.on('error', () => finish(false));
  });
}

function runAdb(env: NodeJS.ProcessEnv, port: number, args: string[], timeoutMs: number): Promise<AdbResult> {
  return new Promise((resolve) => {
    execFile(ADB_BINARY, ['-P', String(port), ...args], { env, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ stdout, stderr, code });
    });
  });
}

export function parseDevices(stdout: string): AdbDeviceLine[] {
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 2 && fields[0] !== '')
    .map(([serial, state]) => ({ serial: serial!, state: state! }));
}

/** Starts a private adb server; rejects (after cleaning up) if it does not answer within `timeoutMs`. */
export async function startPrivateAdbServer(options: { timeoutMs?: number } = {}): Promise<PrivateAdbServer> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const home = await mkdtemp(join(tmpdir(), 'fake-adb-home-'));
  const port = await pickPort();
  // A minimal environment: nothing of the user's adb settings (ADB_TRACE, ADB_VENDOR_KEYS, …) leaks in.
  const env: NodeJS.ProcessEnv & { HOME: string } = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    ANDROID_SDK_HOME: home,
    TMPDIR: home,
    ANDROID_ADB_SERVER_PORT: String(port),
    LANG: 'C',
    // The suite runner stops adb servers a run leaves behind, telling runs apart by this variable: a
    // server without it would be taken for a leftover, and killed mid-test, by any other run that ends
    // meanwhile (one test file run by hand beside the full suite).
    ...(process.env.SONARHOST_TEST_RUN === undefined ? {} : { SONARHOST_TEST_RUN: process.env.SONARHOST_TEST_RUN }),
  };
  let output = '';
  const child: ChildProcess = spawn(ADB_BINARY, ['-P', String(port), 'nodaemon', 'server'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.once('error', (error) => (output += `spawn error: ${error.message}\n`));
  // If the test process dies without stop(), the server must not outlive it.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      await runAdb(env, port, ['kill-server'], 3000);
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await rm(home, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  while (!(await answersVersion(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`private adb server on port ${port} did not start: ${output.trim() || 'no output'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return { ...adbServerAt(port, env), pid: child.pid, output: () => output, stop };
}

/**
 * A handle on an adb server that is already running on `port` (started by a test some other way).
 * `env` must name a private HOME (and should set ANDROID_ADB_SERVER_PORT): if the server is not
 * there, the adb CLI starts one with that environment.
 */
export function adbServerAt(port: number, env: NodeJS.ProcessEnv & { HOME: string }): AdbServerHandle {
  const handle: AdbServerHandle = {
    port,
    home: env.HOME,
    env,
    adb: (args, ms = 15_000) => runAdb(env, port, args, ms),
    client: () => createAdbkitClient(port),
    devices: async () => parseDevices((await runAdb(env, port, ['devices'], 10_000)).stdout),
    async waitForState(serial, state, ms = 10_000) {
      const until = Date.now() + ms;
      let last: AdbDeviceLine[] = [];
      for (;;) {
        last = await handle.devices();
        const line = last.find((d) => d.serial === serial);
        if (state === 'gone' ? line === undefined : line?.state === state) return;
        if (Date.now() > until) {
          throw new Error(`${serial} not ${state} within ${ms} ms; adb devices: ${JSON.stringify(last)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
  return handle;
}

/** Runs a shell command through adbkit (`shell:` v1) and returns everything it printed. */
export async function adbkitShell(client: AdbkitClient, serial: string, command: string | string[], timeoutMs = 10_000): Promise<string> {
  const stream = await client.getDevice(serial).shell(command);
  const chunks: Buffer[] = [];
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`shell ${JSON.stringify(command)} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
    stream.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
