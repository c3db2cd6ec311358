import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../test/helpers/free-ports.js';
import { hasExited, profileArgs, readRssBytes, stopChild, trackChild } from './processes.js';

/** The real binary, compiled (`sonarhost` in package.json's bin: the start-up bundle when it is current). */
export const SONARHOST_CLI = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));

export interface SonarhostChildOptions {
  certDir: string;
  /** Enables the HTTP API on a free loopback port. */
  api?: boolean;
  /** Merged into the config file (e.g. pluginOptions). */
  extra?: Record<string, unknown>;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Added to the child's environment. */
  env?: NodeJS.ProcessEnv;
  /** Also serve the WebSocket exchange and secure ports (9089/9088 in production). */
  webSocket?: boolean;
  /** Also serve the flipper-server-compatible endpoint (52342 in production) on a free port. */
  flipperServer?: boolean;
  /** With `--profile`: the name of the CPU profile the child writes when it stops. */
  profile?: string;
}

export interface SonarhostChild {
  pid: number;
  ports: { insecure: number; secure: number };
  /** The WebSocket ports, with `webSocket`. */
  wsPorts?: { insecure: number; secure: number };
  apiPort?: number;
  /** The flipper-server-compatible endpoint, with `flipperServer`. */
  flipperPort?: number;
  /** ms from spawn to the "listening (insecure)" log line (the last listener opened). */
  listeningMs: number;
  /** ms from spawn to "sonarhost is running". */
  runningMs: number;
  /** Log messages (msg field) received so far, the last 2,000. */
  messages(): string[];
  rss(): Promise<number | undefined>;
  alive(): boolean;
  stop(): Promise<void>;
}

/**
 * `node dist/src/cli/bin.js start --config <file>` in a child process, on 127.0.0.1 with free ports, RSocket
 * only, no Android transport (so no adb server is touched), JSON log lines on stderr (not a TTY).
 */
export async function startSonarhostChild(dir: string, options: SonarhostChildOptions): Promise<SonarhostChild> {
  const [insecure, secure, apiPort, wsInsecure, wsSecure, flipperPort] = (await freePorts(6)) as [number, number, number, number, number, number];
  await mkdir(dir, { recursive: true });
  const file = join(dir, `sonarhost-bench-${insecure}.config.json`);
  await writeFile(
    file,
    JSON.stringify({
      host: '127.0.0.1',
      ports: { insecure, secure },
      webSocket: options.webSocket ? { insecure: wsInsecure, secure: wsSecure, browser: false } : { insecure: false, secure: false, browser: false },
      api: { port: options.api ? apiPort : false },
      flipperServer: { port: options.flipperServer ? flipperPort : false },
      certDir: options.certDir,
      logLevel: options.logLevel ?? 'info',
      plugins: {
        transports: options.webSocket ? ['rsocket', 'websocket'] : ['rsocket'],
        deviceTransports: ['desktop', 'ios-simulator'],
        services: [...(options.api ? ['http-api'] : []), ...(options.flipperServer ? ['flipper-server-api'] : [])],
      },
      ...options.extra,
    }),
  );
  const started = performance.now();
  const child = spawn(process.execPath, [...profileArgs(options.profile), SONARHOST_CLI, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  trackChild(child, false);
  const messages: string[] = [];
  const seen = new Map<string, number>();
  let pending = '';
  let raw = '';
  const onLine = (line: string) => {
    let msg = line;
    try {
      msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? line);
    } catch {
      // not JSON: keep the line itself
    }
    if (!seen.has(msg)) seen.set(msg, performance.now() - started);
    messages.push(msg);
    if (messages.length > 2000) messages.splice(0, 1000);
  };
  child.stderr.on('data', (d: Buffer) => {
    const text = pending + d.toString();
    raw = (raw + d.toString()).slice(-4000);
    const lines = text.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line) onLine(line);
  });
  child.stdout.on('data', (d: Buffer) => (raw = (raw + d.toString()).slice(-4000)));
  const stop = () => stopChild(child, { graceMs: 3000 });
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 30_000);
    const check = () => {
      if (seen.has('sonarhost is running; press Ctrl-C to stop')) {
        clearTimeout(timer);
        child.stderr.off('data', check);
        resolve(true);
      }
    };
    child.stderr.on('data', check);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ready || hasExited(child)) {
    await stop();
    throw new Error(`sonarhost did not start:\n${raw}`);
  }
  return {
    pid: child.pid!,
    ports: { insecure, secure },
    wsPorts: options.webSocket ? { insecure: wsInsecure, secure: wsSecure } : undefined,
    apiPort: options.api ? apiPort : undefined,
    flipperPort: options.flipperServer ? flipperPort : undefined,
    listeningMs: seen.get('listening (insecure)') ?? Number.NaN,
    runningMs: seen.get('sonarhost is running; press Ctrl-C to stop')!,
    messages: () => messages,
    rss: () => readRssBytes(child.pid!),
    alive: () => !hasExited(child),
    stop,
  };
}
