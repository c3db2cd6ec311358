import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureAndroidExchange } from './android-exchange.js';
import { formatIssuance, measureCertificateIssuance } from './certificate-issuance.js';
import { measureExchangeLatency } from './exchange-latency.js';
import { FLIPPER_SERVER_VERSION, prepareFlipperServer } from './flipper-server-process.js';
import { killTrackedChildren, runCleanups } from './processes.js';
import { type BenchResults, checkTargets, renderTable } from './report.js';
import { measureSecureConnections, openFileLimit } from './secure-connections.js';
import { measureStartup } from './startup.js';
import { measureThroughput } from './throughput.js';

/**
 * `npm run bench`: sonarhost beside flipper-server@0.162.0 and a raw rsocket-js pair, on 127.0.0.1 only.
 * Prints one table and writes the figures to bench/results/latest.json. Numbers are reported, never
 * asserted. Every measurement is bounded in count and in time; the whole run aims at a few minutes.
 */
const RESULTS_FILE = fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url));
const BUDGET_MS = 7 * 60_000;

async function main(): Promise<void> {
  const began = Date.now();
  const deadline = (shareOfBudget: number, floorMs: number) => Date.now() + Math.max(floorMs, Math.min(shareOfBudget, began + BUDGET_MS - Date.now()));
  const machine = machineFacts();
  const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${message}\n`);
  log(`${machine.cpu}, ${machine.nproc} CPUs, Node ${machine.node}, load ${machine.loadAtStart.join(' ')}, open-file limit ${machine.openFileLimit}`);

  let flipperReason: string | undefined;
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    log(`installing/checking flipper-server@${FLIPPER_SERVER_VERSION}`);
    flipperReason = await prepareFlipperServer();
  } catch {
    flipperReason = 'flipper-server needs the openssl binary on PATH';
  }
  if (flipperReason) log(`flipper-server columns skipped: ${flipperReason}`);

  const dir = await mkdtemp(join(os.tmpdir(), 'sonarhost-bench-'));
  const results: BenchResults = { failures: {} };
  const durations: Record<string, number> = {};
  const step = async <K extends Exclude<keyof BenchResults, 'failures'>>(key: K, label: string, run: (sub: string) => Promise<BenchResults[K]>) => {
    const started = Date.now();
    log(label);
    const sub = join(dir, key);
    await mkdir(sub, { recursive: true });
    try {
      results[key] = await run(sub);
    } catch (error) {
      results.failures[key] = (error as Error).message.split('\n')[0]!;
      log(`  failed: ${results.failures[key]}`);
    }
    durations[key] = Date.now() - started;
  };
  try {
    await step('exchange', '1. certificate exchange latency (desktop, iOS simulator)', (sub) => measureExchangeLatency(sub, { perHost: 40, deadline: deadline(60_000, 20_000), flipperReason }));
    await step('android', '2. Android certificate exchange (real adb server, fake device)', (sub) => measureAndroidExchange(sub, { perHost: 40, deadline: deadline(45_000, 15_000), flipperReason }));
    await step('secure', '3. secure connection set-up and 1,000 idle clients', (sub) =>
      measureSecureConnections(sub, { latencyCount: 40, clients: 1000, concurrency: 16, deadline: deadline(120_000, 30_000), flipperReason }),
    );
    await step('throughput', '4. host→app and app→host throughput', (sub) => measureThroughput(sub, { rounds: 7, deadline: deadline(120_000, 30_000), flipperReason }));
    await step('startup', '5. start-up time', (sub) => measureStartup(sub, { repeats: 5, deadline: deadline(75_000, 20_000), flipperReason }));
  } finally {
    killTrackedChildren();
    await runCleanups();
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  const { text, footnotes } = renderTable(results);
  const targets = checkTargets(results);
  const totalMs = Date.now() - began;
  const loadAtEnd = os.loadavg().map((l) => Number(l.toFixed(2)));
  const heading = `sonarhost vs flipper-server@${FLIPPER_SERVER_VERSION} on 127.0.0.1 — ${machine.cpu}, ${machine.nproc} CPUs, Node ${machine.node}, load ${machine.loadAtStart.join('/')} → ${loadAtEnd.join('/')}, ${(totalMs / 1000).toFixed(0)} s`;
  const targetLines = targets.map((t) => `${t.met === undefined ? 'n/a   ' : t.met ? 'MET   ' : 'MISSED'} ${t.target}: ${t.detail}`);
  process.stdout.write(`\n${heading}\n\n${text}\n\n${footnotes.join('\n')}\n\nTargets (reported, not asserted):\n${targetLines.join('\n')}\n\nFigures: ${RESULTS_FILE}\n`);

  process.stdout.write(`\n${formatIssuance(await measureCertificateIssuance())}\n`);
  await mkdir(join(RESULTS_FILE, '..'), { recursive: true });
  await writeFile(
    RESULTS_FILE,
    JSON.stringify({ date: new Date(began).toISOString(), totalMs, durationsMs: durations, machine: { ...machine, loadAtEnd }, flipperServer: flipperReason ? { skipped: flipperReason } : { version: FLIPPER_SERVER_VERSION }, results, targets, table: text, footnotes }, null, 2) + '\n',
  );
}

function machineFacts() {
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    totalMemoryBytes: os.totalmem(),
    openFileLimit: openFileLimit(),
    loadAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}

const interrupt = (signal: NodeJS.Signals) => {
  process.stderr.write(`\n${signal}: stopping what the bench started\n`);
  killTrackedChildren();
  void runCleanups().finally(() => process.exit(130));
};
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);

main().catch((error: unknown) => {
  killTrackedChildren();
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  void runCleanups().finally(() => process.exit(1));
});
