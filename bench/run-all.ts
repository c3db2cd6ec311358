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
import { enableProfiles, killTrackedChildren, runCleanups } from './processes.js';
import { type BenchResults, checkTargets, renderTable } from './report.js';
import { type BenchRecord, renderChart, renderMarkdown, updateReadme } from './publish.js';
import { profileInProcess, summarizeProfiles } from './profile.js';
import { measureSecureConnections, openFileLimit } from './secure-connections.js';
import { measureStartup } from './startup.js';
import { measureThroughput } from './throughput.js';
import { formatToolRoundTrips, measureToolRoundTrips } from './tool-round-trip.js';

/**
 * `npm run bench`: sonarhost beside flipper-server@0.162.0 and raw rsocket-js / ws pairs, on 127.0.0.1
 * only. Prints one table and writes the figures to bench/results/latest.json, the table as
 * latest.md and a chart as chart.svg (README shows both). Numbers are reported, never asserted. Every
 * measurement is bounded in count and in time; the whole run aims at a few minutes.
 *
 *   --only exchange,android,secure,throughput,startup,tools   some steps (written to partial.* instead)
 *   --quick        fewer samples per row (development)
 *   --profile      a CPU profile per scenario into bench/results/profiles/ (+ a top-functions summary)
 *   --no-flipper   sonarhost and the raw pairs only (development)
 *   --readme       only rewrite README's Performance section from bench/results/latest.json
 */
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const BUDGET_MS = 6 * 60_000;
const STEPS = ['exchange', 'android', 'secure', 'throughput', 'startup', 'tools'] as const;

interface Flags {
  only?: Set<string>;
  quick: boolean;
  profile: boolean;
  readme: boolean;
  noFlipper: boolean;
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { quick: false, profile: false, readme: false, noFlipper: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') flags.quick = true;
    else if (arg === '--profile') flags.profile = true;
    else if (arg === '--readme') flags.readme = true;
    else if (arg === '--no-flipper') flags.noFlipper = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      const names = (value ?? '').split(',').filter(Boolean);
      const unknown = names.filter((n) => !(STEPS as readonly string[]).includes(n));
      if (names.length === 0 || unknown.length) throw new Error(`--only takes a comma-separated list of ${STEPS.join(', ')}${unknown.length ? ` (not: ${unknown.join(', ')})` : ''}`);
      flags.only = new Set(names);
    } else throw new Error(`unknown option ${arg}; use --only <steps>, --quick, --profile, --no-flipper or --readme`);
  }
  return flags;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.readme) {
    process.stdout.write(`${await updateReadme(README, join(RESULTS, 'latest.json'))}\n`);
    return;
  }
  const began = Date.now();
  const deadline = (shareOfBudget: number, floorMs: number) => Date.now() + Math.max(floorMs, Math.min(shareOfBudget, began + BUDGET_MS - Date.now()));
  const machine = machineFacts();
  const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${message}\n`);
  log(`${machine.cpu}, ${machine.nproc} CPUs, Node ${machine.node}, load ${machine.loadAtStart.join(' ')}, open-file limit ${machine.openFileLimit}`);

  let flipperReason: string | undefined;
  if (flags.noFlipper) flipperReason = 'left out (--no-flipper)';
  else try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    log(`installing/checking flipper-server@${FLIPPER_SERVER_VERSION}`);
    flipperReason = await prepareFlipperServer();
  } catch {
    flipperReason = 'flipper-server needs the openssl binary on PATH';
  }
  if (flipperReason) log(`flipper-server columns skipped: ${flipperReason}`);

  if (flags.profile) {
    const profiles = join(RESULTS, 'profiles');
    await rm(profiles, { recursive: true, force: true });
    await mkdir(profiles, { recursive: true });
    enableProfiles(profiles);
  }
  const q = flags.quick;
  const dir = await mkdtemp(join(os.tmpdir(), 'sonarhost-bench-'));
  const results: BenchResults = { failures: {} };
  const durations: Record<string, number> = {};
  const step = async <K extends (typeof STEPS)[number]>(key: K, label: string, run: (sub: string) => Promise<BenchResults[K]>) => {
    if (flags.only && !flags.only.has(key)) return;
    const started = Date.now();
    const loadPerCore = () => Number((os.loadavg()[0]! / os.availableParallelism()).toFixed(2));
    const loadAtStart = loadPerCore();
    const stopProfile = await profileInProcess(`${key}-bench-process`);
    log(label);
    const sub = join(dir, key);
    await mkdir(sub, { recursive: true });
    try {
      results[key] = await run(sub);
    } catch (error) {
      results.failures[key] = (error as Error).message.split('\n')[0]!;
      log(`  failed: ${results.failures[key]}`);
    }
    await stopProfile();
    durations[key] = Date.now() - started;
    (results.stepLoad ??= {})[key] = { start: loadAtStart, end: loadPerCore() };
  };
  try {
    await step('exchange', '1. certificate exchange latency (desktop, iOS simulator; RSocket and WebSocket)', (sub) =>
      measureExchangeLatency(sub, { perHost: q ? 10 : 30, deadline: deadline(70_000, 20_000), flipperReason }),
    );
    await step('android', '2. Android certificate exchange (real adb server, fake device; RSocket and WebSocket)', (sub) =>
      measureAndroidExchange(sub, { perHost: q ? 8 : 25, deadline: deadline(50_000, 15_000), flipperReason }),
    );
    await step('secure', '3. secure set-up (RSocket, WebSocket, raw floors), 1,000 idle clients, cost as clients grow', (sub) =>
      measureSecureConnections(sub, { latencyCount: q ? 10 : 30, clients: q ? 100 : 1000, concurrency: 16, deadline: deadline(110_000, 30_000), flipperReason }),
    );
    await step('throughput', '4. host→app and app→host throughput (RSocket, WebSocket, HTTP and WebSocket API, raw pairs)', (sub) =>
      measureThroughput(sub, { rounds: q ? 2 : 5, deadline: deadline(120_000, 30_000), flipperReason }),
    );
    await step('startup', '5. start-up time', (sub) => measureStartup(sub, { repeats: q ? 2 : 5, deadline: deadline(40_000, 15_000), flipperReason }));
    await step('tools', '6. a plugin call through MCP, sonarhost call and the API', (sub) => measureToolRoundTrips(sub, { calls: q ? 50 : 300, cliCalls: q ? 5 : 15, deadline: deadline(40_000, 15_000) }));
  } finally {
    killTrackedChildren();
    await runCleanups();
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  const { text: table, footnotes } = renderTable(results);
  const text = results.tools ? `${table}\n\n${formatToolRoundTrips(results.tools)}` : table;
  // Issuance in-process: verify a CSR, build and sign one client certificate (goal: ≤ 1 ms CPU each).
  const issuance = await measureCertificateIssuance();
  const issuanceText = formatIssuance(issuance);
  const targets = [
    ...checkTargets(results),
    { target: 'client certificate issuance ≤ 1 ms CPU', met: issuance.signCsrCpuMsPerCertificate <= 1, detail: `${issuance.signCsrCpuMsPerCertificate.toFixed(2)} ms CPU per certificate` },
  ];
  const totalMs = Date.now() - began;
  const loadAtEnd = os.loadavg().map((l) => Number(l.toFixed(2)));
  const heading = `sonarhost vs flipper-server@${FLIPPER_SERVER_VERSION} on 127.0.0.1 — ${machine.cpu}, ${machine.nproc} CPUs, Node ${machine.node}, load ${machine.loadAtStart.join('/')} → ${loadAtEnd.join('/')}, ${(totalMs / 1000).toFixed(0)} s`;
  const targetLines = targets.map((t) => `${t.met === undefined ? 'n/a   ' : t.met ? 'MET   ' : 'MISSED'} ${t.target}: ${t.detail}`);
  // A partial run (--only, --quick) never replaces the figures README is made from.
  const base = flags.only || flags.quick || flags.noFlipper ? 'partial' : 'latest';
  const resultsFile = join(RESULTS, `${base}.json`);
  process.stdout.write(`\n${heading}\n\n${text}\n\n${footnotes.join('\n')}\n\n${issuanceText}\n\nTargets (reported, not asserted):\n${targetLines.join('\n')}\n\nFigures: ${resultsFile}\n`);

  await mkdir(RESULTS, { recursive: true });
  const record: BenchRecord = { date: new Date(began).toISOString(), totalMs, durationsMs: durations, machine: { ...machine, loadAtEnd }, flipperServer: flipperReason ? { skipped: flipperReason } : { version: FLIPPER_SERVER_VERSION }, heading, results, targets, table: text, footnotes: [...footnotes, ...issuanceText.split('\n')], issuance };
  await writeFile(resultsFile, JSON.stringify(record, null, 2) + '\n');
  await writeFile(join(RESULTS, `${base}.md`), renderMarkdown(record));
  await writeFile(join(RESULTS, base === 'latest' ? 'chart.svg' : 'partial-chart.svg'), renderChart(record));
  if (flags.profile) {
    const names = await summarizeProfiles(join(RESULTS, 'profiles'));
    process.stdout.write(`CPU profiles (${names.length}, each with a .top.txt summary): ${join(RESULTS, 'profiles')}\n`);
  }
  if (base === 'latest') process.stdout.write(`README's Performance section: npm run bench -- --readme (rewrites it from ${resultsFile})\n`);
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
