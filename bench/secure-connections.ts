import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FlipperServerChild, flipperLogBytes, startFlipperServerChild } from './flipper-server-process.js';
import { FlipperUi } from './flipper-ui.js';
import { type MemoryReading, countFds, memoryProbeEnv, probeMemory, sleep, withTimeout } from './processes.js';
import { type AppIdentity, type RawApp, type TlsMaterial, connectRawApp, makeIdentity, prepareFolder, readMaterial, timedExchange } from './raw-app.js';
import { type SonarhostChild, startSonarhostChild } from './sonarhost-process.js';
import { type LatencySummary, hrMs, summarize } from './stats.js';

export interface HoldResult {
  target: number;
  connected: number;
  failed: number;
  concurrency: number;
  /** Connections set up per second while connecting `connected` clients `concurrency` at a time. */
  ratePerSecond: number;
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  /** (RSS after − RSS before) / connected: the measure. */
  bytesPerClient?: number;
  /** V8 heap in use, after forced full GCs in the host (the probe), per client. */
  heapBytesPerClient?: number;
  /** Whether the readings followed forced GCs (the probe answered). */
  memoryAfterGc?: boolean;
  /** What the host itself reports (sonarhost: /api/health clients; flipper-server: client-list). */
  hostReportedClients?: number;
  hostFds?: number;
  stoppedBecause?: string;
}

export interface SecureConnectionResult {
  /**
   * One at a time. sonarhost: until getPlugins is answered (the end point); sonarhostFirstRequest:
   * until the host's first call (getPlugins) reaches the app, the point closest to flipper-server's
   * client-connected, on which the ratio is taken.
   */
  latency: { sonarhost?: LatencySummary; sonarhostFirstRequest?: LatencySummary; flipper?: LatencySummary; ratioP50?: number };
  sonarhost?: HoldResult;
  flipper?: HoldResult;
  flipperSkipped?: string;
  errors: string[];
}

interface Side {
  name: 'sonarhost' | 'flipper';
  port: number;
  material: TlsMaterial;
  folder: string;
  /** Opens one client and resolves when the host has accepted it (see the signals below). */
  connect(device: string): Promise<RawApp>;
}

const FLIPPER_LOG_BUDGET = 700 * 1024;

/**
 * Row 3: secure connection set-up (TLS + SETUP, until the host accepted the connection) one at a time,
 * interleaved between the hosts; then as many idle clients as asked, `concurrency` at a time, held open
 * while the host's RSS is read from /proc. sonarhost's signal is its getBackgroundPlugins request (it
 * got the answer to getPlugins); flipper-server never calls the app without a UI, so its signal is the
 * `client-connected` event on its UI WebSocket.
 */
export async function measureSecureConnections(
  dir: string,
  options: { latencyCount: number; clients: number; concurrency: number; deadline: number; flipperReason?: string },
): Promise<SecureConnectionResult> {
  const identity = await makeIdentity('com.example.bench', 'Bench');
  const errors: string[] = [];
  let sonarhost: SonarhostChild | undefined;
  let flipper: FlipperServerChild | undefined;
  let ui: FlipperUi | undefined;
  let flipperSkipped = options.flipperReason;
  const open: RawApp[] = [];
  const result: SecureConnectionResult = { latency: {}, errors };
  try {
    const certDir = join(dir, 'sonarhost-certs');
    const probeDir = join(dir, 'memory');
    await mkdir(probeDir, { recursive: true });
    sonarhost = await startSonarhostChild(dir, { certDir, api: true, env: memoryProbeEnv(probeDir) });
    const sonarSide = await sideFor('sonarhost', sonarhost.ports, identity, join(dir, 'app-sonarhost', 'sonar'), (app) => app.pluginsAnswered);
    const sides: Side[] = [sonarSide];
    if (!flipperSkipped) {
      try {
        flipper = await startFlipperServerChild(join(dir, 'flipper-home'), {}, memoryProbeEnv(probeDir));
        ui = await FlipperUi.connect(flipper.ports.ui);
        const connectedIds = new Set<string>();
        const waiters = new Map<string, () => void>();
        ui.onServerEvent((event, data) => {
          if (event !== 'client-connected') return;
          const id = (data as { id?: string }).id ?? '';
          connectedIds.add(id);
          waiters.get(id)?.();
        });
        const accepted = (device: string) => {
          const id = `${identity.appName}#MacOS#${device}#`;
          return connectedIds.has(id) ? Promise.resolve() : new Promise<void>((resolve) => waiters.set(id, resolve));
        };
        sides.push(await sideFor('flipper', flipper.ports, identity, join(dir, 'app-flipper', 'sonar'), (_app, device) => accepted(device)));
      } catch (error) {
        flipperSkipped = (error as Error).message.split('\n')[0];
      }
    }

    // Latency, one at a time, interleaved; each connection is closed once accepted.
    const samples = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    const firstRequest: number[] = [];
    for (let i = 0; i < 3 + options.latencyCount && Date.now() < options.deadline; i++) {
      const order = i % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        try {
          const started = performance.now();
          const app = await side.connect(`latency-${i}`);
          const ms = performance.now() - started;
          app.close();
          if (i >= 3) samples.get(side.name)!.push(ms);
          if (i >= 3 && side.name === 'sonarhost' && app.firstRequestAt !== undefined) firstRequest.push(app.firstRequestAt - started);
        } catch (error) {
          if (errors.length < 5) errors.push(`${side.name} latency: ${(error as Error).message}`);
        }
      }
    }
    const a = samples.get('sonarhost')!.length ? summarize(samples.get('sonarhost')!) : undefined;
    const b = samples.get('flipper')?.length ? summarize(samples.get('flipper')!) : undefined;
    const first = firstRequest.length ? summarize(firstRequest) : undefined;
    result.latency = { sonarhost: a, sonarhostFirstRequest: first, flipper: b, ratioP50: first && b ? b.p50 / first.p50 : undefined };
    await sleep(500);

    // Idle clients held open.
    const maxByFds = Math.floor((openFileLimit() - 300) / 2);
    const target = Math.min(options.clients, maxByFds);
    result.sonarhost = await hold(sonarSide, sonarhost.pid, target, options, open, async () => {
      const token = (await readFile(join(certDir, 'api.token'), 'utf8')).trim();
      const health = (await (await fetch(`http://127.0.0.1:${sonarhost!.apiPort}/api/health`, { headers: { authorization: `Bearer ${token}` } })).json()) as { clients?: number };
      return health.clients;
    }, () => probeMemory(sonarhost!.pid, probeDir));
    if (options.clients > maxByFds) result.sonarhost.stoppedBecause = `capped by the open-file limit (${openFileLimit()})`;
    for (const app of open.splice(0)) app.close();
    if (flipper && ui && sides[1]) {
      await sleep(500);
      const fui = ui;
      const flipperPid = flipper.pid;
      result.flipper = await hold(sides[1], flipperPid, target, options, open, async () => ((await fui.exec('client-list', [])) as unknown[]).length, () => probeMemory(flipperPid, probeDir), async () =>
        (await flipperLogBytes()) > FLIPPER_LOG_BUDGET ? `flipper-server's log reached ${FLIPPER_LOG_BUDGET / 1024} KB (it rotates at 1 MiB and died doing so here)` : undefined,
      );
      for (const app of open.splice(0)) app.close();
    }
  } finally {
    for (const app of open) app.close();
    ui?.close();
    await sonarhost?.stop();
    await flipper?.stop();
  }
  result.flipperSkipped = flipperSkipped;
  return result;
}

async function sideFor(
  name: Side['name'],
  ports: { insecure: number; secure: number },
  identity: AppIdentity,
  folderPath: string,
  accepted: (app: RawApp, device: string) => Promise<void>,
): Promise<Side> {
  const folder = await prepareFolder(folderPath, identity);
  await timedExchange(ports.insecure, identity, { os: 'MacOS', device: 'bench-mac', folder });
  const material = await readMaterial(folder, identity);
  return {
    name,
    port: ports.secure,
    material,
    folder,
    connect: async (device) => {
      const app = await connectRawApp(ports.secure, material, identity, device, folder);
      try {
        await withTimeout(accepted(app, device), 15_000, `${name} to accept ${device}`);
      } catch (error) {
        app.close();
        throw error;
      }
      return app;
    },
  };
}

async function hold(
  side: Side,
  pid: number,
  target: number,
  options: { concurrency: number; deadline: number },
  open: RawApp[],
  reportedClients: () => Promise<number | undefined>,
  memory: () => Promise<MemoryReading | undefined>,
  stopCheck: () => Promise<string | undefined> = async () => undefined,
): Promise<HoldResult> {
  const before = await settledMemory(memory);
  let next = 0;
  let connected = 0;
  let failed = 0;
  let stoppedBecause: string | undefined;
  const started = hrMs();
  let lastCheck = 0;
  const worker = async () => {
    while (next < target && !stoppedBecause) {
      if (Date.now() > options.deadline) {
        stoppedBecause ??= 'time budget reached';
        break;
      }
      if (connected - lastCheck >= 25) {
        lastCheck = connected;
        stoppedBecause ??= await stopCheck();
        if (stoppedBecause) break;
      }
      const i = next++;
      try {
        open.push(await side.connect(`idle-${i}`));
        connected++;
      } catch {
        failed++;
        if (failed > 20) stoppedBecause ??= 'more than 20 failed connections';
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsed = hrMs() - started;
  await sleep(2000);
  const after = await settledMemory(memory);
  const perClient = (a?: number, b?: number) => (a !== undefined && b !== undefined && connected > 0 ? (b - a) / connected : undefined);
  return {
    target,
    connected,
    failed,
    concurrency: options.concurrency,
    ratePerSecond: (connected / elapsed) * 1000,
    rssBeforeBytes: before?.rss,
    rssAfterBytes: after?.rss,
    bytesPerClient: perClient(before?.rss, after?.rss),
    heapBytesPerClient: perClient(before?.heapUsed, after?.heapUsed),
    memoryAfterGc: before?.afterGc === true && after?.afterGc === true,
    hostReportedClients: await reportedClients().catch(() => undefined),
    hostFds: await countFds(pid),
    stoppedBecause,
  };
}

/** Three readings 500 ms apart (each after forced GCs when the probe answers): the lowest RSS, the last heap. */
async function settledMemory(memory: () => Promise<MemoryReading | undefined>): Promise<MemoryReading | undefined> {
  const readings: MemoryReading[] = [];
  for (let i = 0; i < 3; i++) {
    const value = await memory();
    if (value !== undefined) readings.push(value);
    if (i < 2) await sleep(500);
  }
  if (readings.length === 0) return undefined;
  return { ...readings[readings.length - 1]!, rss: Math.min(...readings.map((r) => r.rss)), afterGc: readings.every((r) => r.afterGc) };
}

/** Our soft limit on open files (the child hosts inherit it). */
export function openFileLimit(): number {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? Number(match[1]) : 1024;
  } catch {
    return 1024;
  }
}
