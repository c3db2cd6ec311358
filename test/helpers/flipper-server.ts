import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { accepts, freePorts } from './free-ports.js';

export const FLIPPER_SERVER_VERSION = '0.162.0';
/** The npm prefix the package is installed in: `<FLIPPER_SERVER_PREFIX>/node_modules/flipper-server`. */
export const FLIPPER_SERVER_PREFIX = fileURLToPath(new URL(`../../../node_modules/.cache/sonarhost-interop/flipper-server-${FLIPPER_SERVER_VERSION}`, import.meta.url));
const CACHE = FLIPPER_SERVER_PREFIX;
const PACKAGE = join(CACHE, 'node_modules', 'flipper-server');

/** Installs Flipper's own desktop server from npm once (cached under node_modules/.cache). Returns a reason when it cannot. */
export async function ensureFlipperServer(): Promise<string | undefined> {
  if (existsSync(join(PACKAGE, 'server.js'))) return undefined;
  await mkdir(CACHE, { recursive: true });
  try {
    await promisify(execFile)('npm', ['install', '--prefix', CACHE, '--no-save', '--no-audit', '--no-fund', `flipper-server@${FLIPPER_SERVER_VERSION}`], { timeout: 300_000 });
  } catch (error) {
    return `could not install flipper-server@${FLIPPER_SERVER_VERSION} from npm: ${(error as Error).message.split('\n')[0]}`;
  }
  return existsSync(join(PACKAGE, 'server.js')) ? undefined : 'flipper-server installed without server.js';
}

export interface RunningFlipperServer {
  ports: { insecure: number; secure: number };
  /** Its UI's HTTP and WebSocket port (`ws://localhost:<uiPort>/`). */
  uiPort: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts flipper-server headless with a temporary HOME, its own runtime folder and moved ports
 * (dependencies.md), and waits until its insecure port accepts connections.
 */
export async function startFlipperServer(home: string): Promise<RunningFlipperServer> {
  const [insecure, secure, altInsecure, altSecure, browser, ui] = await freePorts(6);
  await mkdir(join(home, 'xdg'), { recursive: true, mode: 0o700 });
  await writeFile(join(PACKAGE, 'static', 'flipper-server-log.out'), '').catch(() => undefined); // it crashes at 1 MiB
  const child: ChildProcess = spawn(
    process.execPath,
    [join(PACKAGE, 'server.js'), '--no-open', '--port', String(ui), '--settingsString', JSON.stringify({ enableAndroid: false, enableIOS: false, enablePhysicalIOS: false })],
    {
      env: {
        ...process.env,
        HOME: home,
        XDG_RUNTIME_DIR: join(home, 'xdg'),
        FLIPPER_PORTS: `${insecure},${secure}`,
        FLIPPER_ALT_PORTS: `${altInsecure},${altSecure}`,
        FLIPPER_BROWSER_PORT: String(browser),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    await exited;
  };
  const deadline = Date.now() + 60_000;
  while (!(await accepts(insecure))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`flipper-server did not start listening:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { ports: { insecure, secure }, uiPort: ui, output: () => output, stop };
}
