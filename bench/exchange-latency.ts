import { join } from 'node:path';
import { CoreSimulatorFixture, sonarFolder } from '../test/helpers/coresimulator-fixture.js';
import { type FlipperServerChild, startFlipperServerChild } from './flipper-server-process.js';
import { type ExchangeTarget, makeIdentity, prepareFolder, timedExchange } from './raw-app.js';
import { processCpuMs } from './processes.js';
import { type SonarhostChild, startSonarhostChild } from './sonarhost-process.js';
import { timedWsExchange } from './ws-app.js';
import { type LatencySummary, summarize } from './stats.js';

export interface ExchangeKindResult {
  sonarhost?: LatencySummary;
  flipper?: LatencySummary;
  /** flipper p50 / sonarhost p50 (how many times faster sonarhost is). */
  ratioP50?: number;
  ratioP95?: number;
  /** Host CPU per exchange, ms (all threads and waited-for children; mean over the recorded exchanges). */
  cpuMs?: { sonarhost?: number; flipper?: number };
  errors: string[];
}

export interface ExchangeLatencyResult {
  perHost: number;
  /** RSocket era: ports 8089 (exchange). */
  desktop: ExchangeKindResult;
  simulator: ExchangeKindResult;
  /** WebSocket era: port 9089, the same flow over one text frame each way. */
  wsDesktop?: ExchangeKindResult;
  wsSimulator?: ExchangeKindResult;
  flipperSkipped?: string;
}

type Kind = 'desktop' | 'simulator' | 'wsDesktop' | 'wsSimulator';
const KINDS: Kind[] = ['desktop', 'simulator', 'wsDesktop', 'wsSimulator'];
type HostName = 'sonarhost' | 'flipper';

/**
 * Row 1: the certificate exchange from opening the insecure connection to `{deviceId}`, sonarhost (the
 * real binary in a child process) and flipper-server@0.162.0 side by side, interleaved A, B, B, A, …,
 * over RSocket (8089) and WebSocket (9089) in the same rounds. Keys and CSRs are made beforehand; each
 * exchange reuses a prepared folder holding app.csr.
 */
export async function measureExchangeLatency(dir: string, options: { perHost: number; deadline: number; flipperReason?: string }): Promise<ExchangeLatencyResult> {
  const identity = await makeIdentity('com.example.bench', 'Bench');
  const fixture = await CoreSimulatorFixture.create(join(dir, 'CoreSimulator', 'Devices'));
  const udid = await fixture.addSimulator({ name: 'iPhone 15', runtime: 'iOS-17-2', state: 'Booted' });
  const targetsFor = async (host: HostName): Promise<Record<Kind, ExchangeTarget>> => {
    const desktop = { os: 'MacOS', device: 'bench-mac', folder: await prepareFolder(join(dir, `desktop-${host}`, 'sonar'), identity) };
    const simulator = { os: 'iOS', device: 'iPhone 15', folder: await prepareFolder(sonarFolder(await fixture.addApp(udid, identity.appId)), identity) };
    return { desktop, simulator, wsDesktop: desktop, wsSimulator: simulator };
  };
  const targets: Record<HostName, Record<Kind, ExchangeTarget>> = { sonarhost: await targetsFor('sonarhost'), flipper: await targetsFor('flipper') };

  let sonarhost: SonarhostChild | undefined;
  let flipper: FlipperServerChild | undefined;
  let flipperSkipped = options.flipperReason;
  const none = (): Record<Kind, number[]> => ({ desktop: [], simulator: [], wsDesktop: [], wsSimulator: [] });
  const samples: Record<HostName, Record<Kind, number[]>> = { sonarhost: none(), flipper: none() };
  const errors: Record<Kind, string[]> = { desktop: [], simulator: [], wsDesktop: [], wsSimulator: [] };
  // CPU per exchange: each host's CPU reading at the start of its every exchange; the difference to
  // its next reading (its next exchange, after the other host's turn) is charged to this one, so work
  // a host does after answering (closing, logging, reaping openssl) counts too.
  const cpuTotals: Record<HostName, Record<Kind, { ms: number; count: number }>> = {
    sonarhost: { desktop: { ms: 0, count: 0 }, simulator: { ms: 0, count: 0 }, wsDesktop: { ms: 0, count: 0 }, wsSimulator: { ms: 0, count: 0 } },
    flipper: { desktop: { ms: 0, count: 0 }, simulator: { ms: 0, count: 0 }, wsDesktop: { ms: 0, count: 0 }, wsSimulator: { ms: 0, count: 0 } },
  };
  const lastReading: Partial<Record<HostName, { cpu: number; kind: Kind; record: boolean }>> = {};
  const readCpu = (host: HostName, next?: { kind: Kind; record: boolean }) => {
    const pid = host === 'sonarhost' ? sonarhost?.pid : flipper?.pid;
    const cpu = pid === undefined ? undefined : processCpuMs(pid);
    const last = lastReading[host];
    if (cpu !== undefined && last?.record) {
      cpuTotals[host][last.kind].ms += cpu - last.cpu;
      cpuTotals[host][last.kind].count++;
    }
    if (cpu === undefined || !next) delete lastReading[host];
    else lastReading[host] = { cpu, ...next };
  };
  try {
    sonarhost = await startSonarhostChild(dir, {
      certDir: join(dir, 'sonarhost-certs'),
      webSocket: true,
      profile: 'exchange-sonarhost',
      extra: { pluginOptions: { 'ios-simulator': { devicesRoot: fixture.root } }, limits: { exchangesPerMinutePerSource: 1_000_000 } },
    });
    if (!flipperSkipped) {
      try {
        flipper = await startFlipperServerChild(join(dir, 'flipper-home'), { enableIOS: true });
      } catch (error) {
        flipperSkipped = (error as Error).message.split('\n')[0];
      }
    }
    const ports: Record<HostName, { rsocket: number; ws: number } | undefined> = {
      sonarhost: { rsocket: sonarhost.ports.insecure, ws: sonarhost.wsPorts!.insecure },
      flipper: flipper && { rsocket: flipper.ports.insecure, ws: flipper.ports.wsInsecure },
    };
    const one = async (host: HostName, kind: Kind, record: boolean) => {
      const port = ports[host];
      if (port === undefined) return;
      readCpu(host, { kind, record });
      try {
        const ws = kind.startsWith('ws');
        const { ms, deviceId } = ws ? await timedWsExchange(port.ws, identity, targets[host][kind]) : await timedExchange(port.rsocket, identity, targets[host][kind]);
        const expected = kind === 'simulator' || kind === 'wsSimulator' ? udid : '';
        if (deviceId !== expected) throw new Error(`answered deviceId ${JSON.stringify(deviceId)}, expected ${JSON.stringify(expected)}`);
        if (record) samples[host][kind].push(ms);
      } catch (error) {
        if (errors[kind].length < 5) errors[kind].push(`${host}: ${(error as Error).message.split('\n')[0]}`);
      }
    };
    // Warm-up (JIT, file caches, first openssl spawn): not recorded.
    for (let i = 0; i < 3; i++) for (const kind of KINDS) for (const host of ['sonarhost', 'flipper'] as HostName[]) await one(host, kind, false);
    // At least a few rounds even when a loaded machine spent the time budget warming up.
    for (let i = 0; i < options.perHost && (i < 5 || Date.now() < options.deadline); i++) {
      const order: HostName[] = i % 2 === 0 ? ['sonarhost', 'flipper'] : ['flipper', 'sonarhost'];
      for (const kind of KINDS) for (const host of order) await one(host, kind, true);
    }
    // The last exchange of each host: give it the time the others had to finish their tail work.
    await new Promise((resolve) => setTimeout(resolve, 50));
    readCpu('sonarhost');
    readCpu('flipper');
  } finally {
    await sonarhost?.stop();
    await flipper?.stop();
  }
  const kindResult = (kind: Kind): ExchangeKindResult => {
    const a = samples.sonarhost[kind].length ? summarize(samples.sonarhost[kind]) : undefined;
    const b = samples.flipper[kind].length ? summarize(samples.flipper[kind]) : undefined;
    const cpu = (host: HostName) => (cpuTotals[host][kind].count ? cpuTotals[host][kind].ms / cpuTotals[host][kind].count : undefined);
    return { sonarhost: a, flipper: b, ratioP50: a && b ? b.p50 / a.p50 : undefined, ratioP95: a && b ? b.p95 / a.p95 : undefined, cpuMs: { sonarhost: cpu('sonarhost'), flipper: cpu('flipper') }, errors: errors[kind] };
  };
  return { perHost: options.perHost, desktop: kindResult('desktop'), simulator: kindResult('simulator'), wsDesktop: kindResult('wsDesktop'), wsSimulator: kindResult('wsSimulator'), flipperSkipped };
}

