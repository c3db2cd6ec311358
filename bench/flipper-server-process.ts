import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLIPPER_SERVER_VERSION, ensureFlipperServer } from '../test/helpers/flipper-server.js';
import { freePorts } from '../test/helpers/free-ports.js';
import { accepts, hasExited, readRssBytes, sleep, stopChild, trackChild } from './processes.js';

/** Where test/helpers/flipper-server.ts installs the package (node_modules/.cache, shared with the tests). */
const PACKAGE = fileURLToPath(new URL(`../../node_modules/.cache/sonarhost-interop/flipper-server-${FLIPPER_SERVER_VERSION}/node_modules/flipper-server`, import.meta.url));
const STATIC = join(PACKAGE, 'static');
export const FLIPPER_LOG_FILE = join(STATIC, 'flipper-server-log.out');

/**
 * flipper-server logs every command and connection into static/flipper-server-log.out and rotates it
 * at 1 MiB; it died during rotation when measured here. Before each start: an empty log, no rotated
 * files and no rotation audit (otherwise it appends to the last rotated file).
 */
async function resetLogs(): Promise<void> {
  for (const name of await readdir(STATIC).catch(() => [] as string[])) {
    if (/^flipper-server-log\.out\.\d+$/.test(name) || name === '.audit.json') await rm(join(STATIC, name), { force: true });
  }
  await writeFile(FLIPPER_LOG_FILE, '').catch(() => undefined);
}

/** Bytes in the current log file: restart flipper-server well before 1 MiB. */
export async function flipperLogBytes(): Promise<number> {
  return (await stat(FLIPPER_LOG_FILE).catch(() => ({ size: 0 }))).size;
}

export { FLIPPER_SERVER_VERSION };

/** Installs flipper-server from npm when needed (the tests' helper); a reason when it cannot be used. */
export async function prepareFlipperServer(): Promise<string | undefined> {
  const reason = await ensureFlipperServer();
  if (reason) return reason;
  return existsSync(join(PACKAGE, 'server.js')) ? undefined : `flipper-server is not at ${PACKAGE}`;
}

export interface FlipperServerChild {
  pid: number;
  /** RSocket (FLIPPER_PORTS), WebSocket (FLIPPER_ALT_PORTS: wsInsecure, wsSecure) and UI ports. */
  ports: { insecure: number; secure: number; wsInsecure: number; wsSecure: number; ui: number };
  /** ms from spawn until the exchange port accepted a TCP connection. */
  readyMs: number;
  /** ms from spawn until the UI port accepted too. */
  uiReadyMs: number;
  output(): string;
  rss(): Promise<number | undefined>;
  alive(): boolean;
  stop(): Promise<void>;
}

/**
 * flipper-server@0.162.0 headless as test/helpers/flipper-server.ts starts it (temp HOME, own runtime
 * folder, moved ports, process group), but with the settings given (the bench needs iOS on for the
 * simulator exchange) and the UI port returned. Ready when the exchange port accepts (polled every 5 ms).
 */
export async function startFlipperServerChild(home: string, settings: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Promise<FlipperServerChild> {
  const [insecure, secure, altInsecure, altSecure, browser, ui] = (await freePorts(6)) as [number, number, number, number, number, number];
  await mkdir(join(home, 'xdg'), { recursive: true, mode: 0o700 });
  await resetLogs();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [join(PACKAGE, 'server.js'), '--no-open', '--port', String(ui), '--settingsString', JSON.stringify({ enableAndroid: false, enableIOS: false, enablePhysicalIOS: false, ...settings })],
    {
      env: {
        ...process.env,
        HOME: home,
        XDG_RUNTIME_DIR: join(home, 'xdg'),
        FLIPPER_PORTS: `${insecure},${secure}`,
        FLIPPER_ALT_PORTS: `${altInsecure},${altSecure}`,
        FLIPPER_BROWSER_PORT: String(browser),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  trackChild(child, true);
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = () => stopChild(child, { group: true, graceMs: 2000 });
  const deadline = Date.now() + 60_000;
  while (!(await accepts(insecure))) {
    if (hasExited(child) || Date.now() > deadline) {
      await stop();
      throw new Error(`flipper-server did not start listening:\n${output.slice(-2000)}`);
    }
    await sleep(5);
  }
  const readyMs = performance.now() - started;
  // Its UI port (the bench's control channel) opens after the app-facing ports.
  while (!(await accepts(ui))) {
    if (hasExited(child) || Date.now() > deadline) {
      await stop();
      throw new Error(`flipper-server did not open its UI port:\n${output.slice(-2000)}`);
    }
    await sleep(5);
  }
  const uiReadyMs = performance.now() - started;
  return {
    pid: child.pid!,
    ports: { insecure, secure, wsInsecure: altInsecure, wsSecure: altSecure, ui },
    readyMs,
    uiReadyMs,
    output: () => output,
    rss: () => readRssBytes(child.pid!),
    alive: () => !hasExited(child),
    stop,
  };
}
