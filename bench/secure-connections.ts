import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FlipperServerChild, flipperLogBytes, startFlipperServerChild } from './flipper-server-process.js';
import { FlipperUi } from './flipper-ui.js';
import { type MemoryReading, countFds, mainThreadCpuMs, memoryProbeEnv, probeMemory, sleep, withTimeout } from './processes.js';
import { type AppIdentity, type BenchApp, type TlsMaterial, connectRawApp, makeIdentity, prepareFolder, readMaterial, timedExchange } from './raw-app.js';
import { connectWsApp } from './ws-app.js';
import { type FloorServer, startFloorServer } from './floor.js';
import * as http from 'node:http';
import { type SonarhostChild, startSonarhostChild } from './sonarhost-process.js';
import { type LatencySummary, hrMs, median, summarize } from './stats.js';

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
  /** The process measured: its name and pid, so a row can never silently measure the wrong host. */
  hostProcess: string;
  /** Why the memory and rate figures are void: the host listed a different number of clients than were held. */
  voided?: string;
}

/** Exchange and call latency on a host already holding `clients` idle connections (issue 14.6). */
export interface ScalePoint {
  clients: number;
  exchange?: LatencySummary;
  /** host→app call through the HTTP API, one at a time, to the first idle client. */
  call?: LatencySummary;
  error?: string;
}

export interface SecureConnectionResult {
  /**
   * One at a time. sonarhost: until getPlugins is answered (the end point); sonarhostFirstRequest:
   * until the host's first call (getPlugins) reaches the app, the point closest to flipper-server's
   * client-connected, on which the ratio is taken. The Ws fields: the same on the WebSocket port. The
   * floors: TLS with the same certificates, then server message, client answer, server message.
   */
  latency: {
    sonarhost?: LatencySummary;
    sonarhostFirstRequest?: LatencySummary;
    flipper?: LatencySummary;
    ratioP50?: number;
    sonarhostWs?: LatencySummary;
    sonarhostWsFirstRequest?: LatencySummary;
    flipperWs?: LatencySummary;
    ratioWsP50?: number;
    floorMtls?: LatencySummary;
    floorWss?: LatencySummary;
    /** Median CPU time of the serving process's main thread per set-up, ms (bench/processes.ts mainThreadCpuMs). */
    hostCpuMs?: Record<string, number>;
  };
  /** sonarhost only: the cost as the number of connected clients grows. */
  scaling?: ScalePoint[];
  sonarhost?: HoldResult;
  flipper?: HoldResult;
  /** Idle secure WebSocket clients (9088 and flipper-server's wsSecure), held after the RSocket rows closed theirs. */
  sonarhostWs?: HoldResult;
  flipperWs?: HoldResult;
  /** The floor server (bench/floor-server.ts) holding idle mTLS, then wss, clients with the same certificates. */
  floorMtls?: HoldResult;
  floorWss?: HoldResult;
  flipperSkipped?: string;
  errors: string[];
}

/** What the idle-client rows hold: anything that opens one client and can close it. */
interface Holdable {
  name: string;
  connect(device: string): Promise<Closable>;
}

interface Closable {
  close(): void;
}

interface Side extends Holdable {
  name: 'sonarhost' | 'flipper' | 'sonarhostWs' | 'flipperWs';
  port: number;
  material: TlsMaterial;
  folder: string;
  /** Opens one client and resolves when the host has accepted it (see the signals below). */
  connect(device: string): Promise<BenchApp>;
}

const FLIPPER_LOG_BUDGET = 700 * 1024;
/** flipper-server's RSocket hold stops here, so that its WebSocket hold has the rest of the log budget. */
const FLIPPER_RSOCKET_LOG_BUDGET = 450 * 1024;

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
  const open: Closable[] = [];
  let floor: FloorServer | undefined;
  const result: SecureConnectionResult = { latency: {}, errors };
  try {
    const certDir = join(dir, 'sonarhost-certs');
    const probeDir = join(dir, 'memory');
    await mkdir(probeDir, { recursive: true });
    sonarhost = await startSonarhostChild(dir, {
      certDir,
      api: true,
      webSocket: true,
      profile: 'secure-sonarhost',
      env: memoryProbeEnv(probeDir),
      extra: { limits: { exchangesPerMinutePerSource: 1_000_000 } },
    });
    const sonarSide = await sideFor('sonarhost', sonarhost.ports, identity, join(dir, 'app-sonarhost', 'sonar'), (app) => app.pluginsAnswered);
    const sonarWsSide: Side = { ...sonarSide, name: 'sonarhostWs', port: sonarhost.wsPorts!.secure, connect: wsConnect('sonarhostWs', sonarhost.wsPorts!.secure, sonarSide, identity, (app) => app.pluginsAnswered) };
    const sides: Side[] = [sonarSide, sonarWsSide];
    const server = { key: await readFile(join(certDir, 'server.key'), 'utf8'), cert: await readFile(join(certDir, 'server.crt'), 'utf8'), ca: sonarSide.material.ca };
    floor = await startFloorServer(server, 'secure-floor', memoryProbeEnv(probeDir));
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
        const accepted = (device: string, deviceId = '') => {
          const id = `${identity.appName}#MacOS#${device}#${deviceId}`;
          return connectedIds.has(id) ? Promise.resolve() : new Promise<void>((resolve) => waiters.set(id, resolve));
        };
        const flipperSide = await sideFor('flipper', flipper.ports, identity, join(dir, 'app-flipper', 'sonar'), (_app, device) => accepted(device));
        sides.push(flipperSide, {
          ...flipperSide,
          name: 'flipperWs',
          port: flipper.ports.wsSecure,
          connect: wsConnect('flipperWs', flipper.ports.wsSecure, flipperSide, identity, (_app, device) => accepted(device, 'bench')),
        });
      } catch (error) {
        flipperSkipped = (error as Error).message.split('\n')[0];
      }
    }

    // Latency, one at a time, interleaved (the floors too); each connection is closed once accepted.
    type Probe = { name: string; pid: number; run(i: number): Promise<{ ms: number; firstMs?: number }> };
    const pids: Record<string, number | undefined> = { sonarhost: sonarhost.pid, sonarhostWs: sonarhost.pid, flipper: flipper?.pid, flipperWs: flipper?.pid };
    const probes: Probe[] = sides.map((side) => ({
      name: side.name,
      pid: pids[side.name]!,
      run: async (i) => {
        const started = performance.now();
        const app = await side.connect(`latency-${i}`);
        const ms = performance.now() - started;
        app.close();
        return { ms, firstMs: app.firstRequestAt === undefined ? undefined : app.firstRequestAt - started };
      },
    }));
    const floorServer = floor;
    probes.push({ name: 'floorMtls', pid: floor.pid, run: async () => ({ ms: await floorServer.mtls(sonarSide.material) }) });
    probes.push({ name: 'floorWss', pid: floor.pid, run: async () => ({ ms: await floorServer.wss(sonarSide.material) }) });
    const cpu = new Map<string, number[]>(probes.map((p) => [p.name, []]));
    const samples = new Map<string, number[]>(probes.map((p) => [p.name, []]));
    const firstRequest = new Map<string, number[]>([
      ['sonarhost', []],
      ['sonarhostWs', []],
    ]);
    for (let i = 0; i < 3 + options.latencyCount && (i < 8 || Date.now() < options.deadline); i++) {
      const order = i % 2 === 0 ? probes : [...probes].reverse();
      for (const probe of order) {
        try {
          const cpuBefore = await mainThreadCpuMs(probe.pid);
          const { ms, firstMs } = await probe.run(i);
          // Let the server finish with the closed connection, so its cost lands on this set-up.
          await sleep(5);
          const cpuAfter = await mainThreadCpuMs(probe.pid);
          if (i >= 3 && cpuBefore !== undefined && cpuAfter !== undefined) cpu.get(probe.name)!.push(cpuAfter - cpuBefore);
          if (i >= 3) samples.get(probe.name)!.push(ms);
          if (i >= 3 && firstMs !== undefined) firstRequest.get(probe.name)?.push(firstMs);
        } catch (error) {
          if (errors.length < 5) errors.push(`${probe.name} latency: ${(error as Error).message}`);
        }
      }
    }
    const of = (values: number[] | undefined) => (values?.length ? summarize(values) : undefined);
    const first = of(firstRequest.get('sonarhost'));
    const firstWs = of(firstRequest.get('sonarhostWs'));
    const flipperRs = of(samples.get('flipper'));
    const flipperWs = of(samples.get('flipperWs'));
    result.latency = {
      sonarhost: of(samples.get('sonarhost')),
      sonarhostFirstRequest: first,
      flipper: flipperRs,
      ratioP50: first && flipperRs ? flipperRs.p50 / first.p50 : undefined,
      sonarhostWs: of(samples.get('sonarhostWs')),
      sonarhostWsFirstRequest: firstWs,
      flipperWs,
      ratioWsP50: firstWs && flipperWs ? flipperWs.p50 / firstWs.p50 : undefined,
      floorMtls: of(samples.get('floorMtls')),
      floorWss: of(samples.get('floorWss')),
      hostCpuMs: Object.fromEntries([...cpu].filter(([, v]) => v.length).map(([k, v]) => [k, Math.round(median(v) * 1000) / 1000])),
    };
    await sleep(500);

    // Idle clients held open, one kind after another: each hold's clients are closed, and the host given
    // a moment to let go of them, before the next.
    const releaseHeld = async () => {
      for (const app of open.splice(0)) app.close();
      await sleep(500);
    };
    const maxByFds = Math.floor((openFileLimit() - 300) / 2);
    const target = Math.min(options.clients, maxByFds);
    const token = (await readFile(join(certDir, 'api.token'), 'utf8')).trim();
    const sonarhostClients = async () => {
      const health = (await (await fetch(`http://127.0.0.1:${sonarhost!.apiPort}/api/health`, { headers: { authorization: `Bearer ${token}` } })).json()) as { clients?: number };
      return health.clients;
    };
    const scaling: ScalePoint[] = [];
    const scaleProbe = scalingProbe(sonarhost, token, identity, join(dir, 'scaling', 'sonar'), `${identity.appName}#MacOS#idle-0#`);
    result.sonarhost = await hold(
      sonarSide,
      sonarhost.pid,
      target,
      options,
      open,
      sonarhostClients,
      () => probeMemory(sonarhost!.pid, probeDir),
      undefined,
      { stages: [1, 100, 1000], at: async (clients) => void scaling.push(await scaleProbe(clients).catch((error: unknown) => ({ clients, error: (error as Error).message }))) },
    );
    result.scaling = scaling;
    await scaleProbe.close();
    if (options.clients > maxByFds) result.sonarhost.stoppedBecause = `capped by the open-file limit (${openFileLimit()})`;
    await releaseHeld();
    result.sonarhostWs = await hold(sonarWsSide, sonarhost.pid, target, options, open, sonarhostClients, () => probeMemory(sonarhost!.pid, probeDir));
    await releaseHeld();
    // By name, never by index: the sonarhost WebSocket side sits at index 1 (the bug that made the peer
    // columns measure sonarhost twice).
    const flipperSide = sides.find((side) => side.name === 'flipper');
    if (flipper && ui && flipperSide) {
      const fui = ui;
      const flipperPid = flipper.pid;
      const flipperClients = async () => ((await fui.exec('client-list', [])) as unknown[]).length;
      const logBudget = (bytes: number) => async () =>
        (await flipperLogBytes()) > bytes ? `flipper-server's log reached ${Math.round(bytes / 1024)} KB (it rotates at 1 MiB and died doing so here; the budget is shared with the WebSocket row)` : undefined;
      result.flipper = await hold(flipperSide, flipperPid, target, options, open, flipperClients, () => probeMemory(flipperPid, probeDir), logBudget(FLIPPER_RSOCKET_LOG_BUDGET));
      await releaseHeld();
      const flipperWsSide = sides.find((side) => side.name === 'flipperWs');
      if (flipperWsSide) {
        result.flipperWs = await hold(flipperWsSide, flipperPid, target, options, open, flipperClients, () => probeMemory(flipperPid, probeDir), logBudget(FLIPPER_LOG_BUDGET));
        await releaseHeld();
      }
    }

    // The floor: the same certificates, nothing but TLS (and the WebSocket upgrade) per client.
    const floorHold = (name: 'floorMtls' | 'floorWss', kind: 'tls' | 'wss') =>
      hold(
        { name, connect: () => (kind === 'tls' ? floorServer.holdMtls(sonarSide.material) : floorServer.holdWss(sonarSide.material)) },
        floorServer.pid,
        target,
        options,
        open,
        async () => (await floorServer.openCounts())[kind],
        () => probeMemory(floorServer.pid, probeDir),
      );
    result.floorMtls = await floorHold('floorMtls', 'tls');
    await releaseHeld();
    result.floorWss = await floorHold('floorWss', 'wss');
    await releaseHeld();
  } finally {
    for (const app of open) app.close();
    await floor?.stop();
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
  accepted: (app: BenchApp, device: string) => Promise<void>,
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
  side: Holdable,
  pid: number,
  target: number,
  options: { concurrency: number; deadline: number },
  open: Closable[],
  reportedClients: () => Promise<number | undefined>,
  memory: () => Promise<MemoryReading | undefined>,
  stopCheck: () => Promise<string | undefined> = async () => undefined,
  scale?: { stages: number[]; at(clients: number): Promise<void> },
): Promise<HoldResult> {
  const before = await settledMemory(memory);
  let next = 0;
  let connected = 0;
  let failed = 0;
  let stoppedBecause: string | undefined;
  let elapsed = 0;
  let lastCheck = 0;
  let stageEnd = target;
  const worker = async () => {
    while (next < stageEnd && !stoppedBecause) {
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
  // Connect in stages (1, 100, 1,000 clients…), measuring at each; the rate counts connecting time only.
  const stages = [...(scale?.stages.filter((n) => n < target) ?? []), target];
  for (const stage of stages) {
    stageEnd = stage;
    const started = hrMs();
    await Promise.all(Array.from({ length: Math.min(options.concurrency, Math.max(1, stage - next)) }, worker));
    elapsed += hrMs() - started;
    if (stoppedBecause) break;
    if (scale) await scale.at(connected);
  }
  await sleep(2000);
  const after = await settledMemory(memory);
  const perClient = (a?: number, b?: number) => (a !== undefined && b !== undefined && connected > 0 ? (b - a) / connected : undefined);
  const hostReportedClients = await reportedClients().catch(() => undefined);
  const voided =
    hostReportedClients === connected
      ? undefined
      : `the ${side.name} host (pid ${pid}) lists ${hostReportedClients ?? 'no answer'} clients while ${connected} are held: this row measured something else`;
  return {
    hostProcess: `${side.name} pid ${pid}`,
    voided,
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
    hostReportedClients,
    hostFds: await countFds(pid),
    stoppedBecause,
  };
}

/** Opens a secure WebSocket app for `side`'s identity and certificate, accepted when `accepted` says so. */
function wsConnect(name: Side['name'], port: number, side: Side, identity: AppIdentity, accepted: (app: BenchApp, device: string) => Promise<void>): Side['connect'] {
  return async (device) => {
    const app = await connectWsApp(port, side.material, identity, device, side.folder);
    try {
      await withTimeout(accepted(app, device), 15_000, `${name} to accept ${device}`);
    } catch (error) {
      app.close();
      throw error;
    }
    return app;
  };
}

const SCALE_EXCHANGES = 10;
const SCALE_CALLS = 40;

/**
 * Measures, on a host holding N clients: RSocket exchanges one at a time, and host→app calls through
 * the HTTP API (keep-alive, one at a time) to the client `clientId`.
 */
function scalingProbe(host: SonarhostChild, token: string, identity: AppIdentity, folderPath: string, clientId: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: host.apiPort, method: 'POST', path: `/api/clients/${encodeURIComponent(clientId)}/call`, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode} from the call API`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const probe = async (clients: number): Promise<ScalePoint> => {
    const folder = await prepareFolder(folderPath, identity);
    const exchanges: number[] = [];
    for (let i = 0; i < SCALE_EXCHANGES; i++) exchanges.push((await timedExchange(host.ports.insecure, identity, { os: 'MacOS', device: 'bench-mac', folder })).ms);
    const calls: number[] = [];
    await post(JSON.stringify({ method: 'execute', params: { api: 'echo', method: 'ping', params: { n: -1 } } }));
    for (let i = 0; i < SCALE_CALLS; i++) {
      const started = performance.now();
      await post(JSON.stringify({ method: 'execute', params: { api: 'echo', method: 'ping', params: { n: i } } }));
      calls.push(performance.now() - started);
    }
    return { clients, exchange: summarize(exchanges), call: summarize(calls) };
  };
  return Object.assign(probe, { close: async () => agent.destroy() });
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
