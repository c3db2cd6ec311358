import { type AndroidExchangeResult } from './android-exchange.js';
import { type ExchangeKindResult, type ExchangeLatencyResult } from './exchange-latency.js';
import { type HoldResult, type SecureConnectionResult } from './secure-connections.js';
import { type StartupResult } from './startup.js';
import { fmtBytes, fmtMs, fmtRate, fmtRatio } from './stats.js';
import { type Mode, type ThroughputResult } from './throughput.js';

export interface BenchResults {
  exchange?: ExchangeLatencyResult;
  android?: AndroidExchangeResult;
  secure?: SecureConnectionResult;
  throughput?: ThroughputResult;
  startup?: StartupResult;
  /** Rows that failed as a whole, with the reason. */
  failures: Record<string, string>;
}

type Row = [id: string, measurement: string, sonarhost: string, flipper: string, advantage: string, raw: string, ofRaw: string, note: string];

const HEADER: Row = ['#', 'measurement', 'sonarhost', 'flipper-server 0.162.0', 'sonarhost advantage', 'raw rsocket-js 0.0.27', 'sonarhost / raw', 'notes'];

const pct = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '–' : `${Math.round(value * 100)}%`);

/** The one table: both hosts side by side; "advantage" > 1× means sonarhost is better (faster, more, smaller). */
export function renderTable(results: BenchResults): { text: string; footnotes: string[] } {
  const rows: Row[] = [];
  const footnotes: string[] = [];
  const { exchange, android, secure, throughput, startup } = results;

  const exchangeRow = (id: string, label: string, kind: ExchangeKindResult | undefined, reason: string | undefined, note: string) => {
    if (!kind || (!kind.sonarhost && !kind.flipper)) {
      rows.push([id, label, 'not measured', 'not measured', '–', '', '', reason ?? 'no samples']);
      return;
    }
    const cell = (s: ExchangeKindResult['sonarhost']) => (s ? `${fmtMs(s.p50)} / ${fmtMs(s.p95)}` : reason ? 'skipped' : '–');
    const errors = kind.errors.length ? `; errors: ${kind.errors.join(' | ')}` : '';
    rows.push([id, label, cell(kind.sonarhost), cell(kind.flipper), `${fmtRatio(kind.ratioP50)} / ${fmtRatio(kind.ratioP95)}`, '', '', note + errors]);
  };
  const n = exchange?.perHost;
  exchangeRow('1a', 'cert exchange, desktop app (MacOS), p50 / p95', exchange?.desktop, results.failures.exchange ?? exchange?.flipperSkipped, `${n ?? '?'} each, interleaved; keys and CSRs made beforehand`);
  exchangeRow('1b', 'cert exchange, iOS simulator app, p50 / p95', exchange?.simulator, results.failures.exchange ?? exchange?.flipperSkipped, 'fake CoreSimulator tree; flipper-server with enableIOS');
  if (android?.skipped || results.failures.android) {
    rows.push(['2', 'cert exchange, Android (adb + fake device), p50 / p95', 'skipped', 'skipped', '–', '', '', android?.skipped ?? results.failures.android ?? '']);
  } else {
    exchangeRow('2', 'cert exchange, Android (adb + fake device), p50 / p95', android, android?.flipperSkipped, `${android?.perHost ?? '?'} each; real adb server, test/helpers/fake-adb device`);
  }

  if (secure) {
    const l = secure.latency;
    rows.push([
      '3a',
      'secure connection set-up, one at a time, p50 / p95',
      l.sonarhost ? `${fmtMs(l.sonarhost.p50)} / ${fmtMs(l.sonarhost.p95)} (getPlugins asked: ${fmtMs(l.sonarhostFirstRequest?.p50)} / ${fmtMs(l.sonarhostFirstRequest?.p95)})` : '–',
      l.flipper ? `${fmtMs(l.flipper.p50)} / ${fmtMs(l.flipper.p95)}` : secure.flipperSkipped ? 'skipped' : '–',
      fmtRatio(l.ratioP50),
      '',
      '',
      'end points differ; ratio on "getPlugins asked" [a]',
    ]);
    const s: HoldResult | undefined = secure.sonarhost;
    const f: HoldResult | undefined = secure.flipper;
    rows.push([
      '3b',
      `secure connections set up per second, ${s?.concurrency ?? 16} at a time`,
      s ? `${fmtRate(s.ratePerSecond)} (${s.connected} clients)` : '–',
      f ? `${fmtRate(f.ratePerSecond)} (${f.connected} clients)` : '–',
      s && f ? fmtRatio(s.ratePerSecond / f.ratePerSecond) : '–',
      '',
      '',
      'see [a]',
    ]);
    rows.push([
      '3c',
      'idle RSocket clients held at once (target 1,000)',
      s ? `${s.connected} of ${s.target}; host lists ${s.hostReportedClients ?? '?'}` : '–',
      f ? `${f.connected}; host lists ${f.hostReportedClients ?? '?'}` : '–',
      '',
      '',
      '',
      [s?.stoppedBecause && `sonarhost: ${s.stoppedBecause}`, f?.stoppedBecause && `flipper-server stopped at ${f.connected}: ${f.stoppedBecause}`].filter(Boolean).join('; ') || 'each client a distinct `device`, one issued certificate',
    ]);
    rows.push([
      '3d',
      'host memory per idle client: ΔRSS / clients',
      s ? `${fmtBytes(s.bytesPerClient)} (RSS ${fmtBytes(s.rssBeforeBytes)} → ${fmtBytes(s.rssAfterBytes)})` : '–',
      f ? `${fmtBytes(f.bytesPerClient)} (RSS ${fmtBytes(f.rssBeforeBytes)} → ${fmtBytes(f.rssAfterBytes)})` : '–',
      s?.bytesPerClient && f?.bytesPerClient ? fmtRatio(f.bytesPerClient / s.bytesPerClient) : '–',
      '',
      '',
      'RSS of the host process (lowest of 3 readings, after forced GCs) [f]',
    ]);
    rows.push([
      '3e',
      'host memory per idle client: V8 heap used / clients',
      s ? fmtBytes(s.heapBytesPerClient) : '–',
      f ? fmtBytes(f.heapBytesPerClient) : '–',
      s?.heapBytesPerClient && f?.heapBytesPerClient ? fmtRatio(f.heapBytesPerClient / s.heapBytesPerClient) : '–',
      '',
      '',
      'process.memoryUsage().heapUsed after forced GCs [f]',
    ]);
    if (secure.errors.length) footnotes.push(`row 3 errors: ${secure.errors.join(' | ')}`);
  } else {
    rows.push(['3', 'secure connections and idle clients', 'not measured', 'not measured', '–', '', '', results.failures.secure ?? '']);
  }

  if (throughput) {
    const r = throughput.rates;
    const modeRow = (id: string, label: string, mode: Mode, unit: string) => {
      const s = r.sonarhost?.[mode];
      const f = r.flipper?.[mode];
      const raw = r.raw?.[mode];
      const rawTls = r.rawTls?.[mode];
      rows.push([
        id,
        label,
        fmtRate(s, unit),
        f !== undefined ? fmtRate(f, unit) : throughput.skipped.flipper ? 'skipped' : '–',
        s !== undefined && f !== undefined ? fmtRatio(s / f) : '–',
        `${fmtRate(raw, unit)} TCP · ${fmtRate(rawTls, unit)} TLS`,
        `${pct(s !== undefined && raw ? s / raw : undefined)} · ${pct(s !== undefined && rawTls ? s / rawTls : undefined)}`,
        'sonarhost in-process [b]; flipper-server via its UI WebSocket [c]',
      ]);
    };
    modeRow('4a', 'host→app request-response, 1 in flight', 'serial', ' req/s');
    modeRow('4b', 'host→app request-response, 100 in flight', 'inflight100', ' req/s');
    modeRow('4c', 'app→host events (fire-and-forget)', 'events', ' ev/s');
    const httpRow = (id: string, label: string, mode: Mode, unit: string) => {
      const s = r.sonarhostHttp?.[mode];
      const f = r.flipper?.[mode];
      rows.push([
        id,
        label,
        s !== undefined ? fmtRate(s, unit) : throughput.skipped.sonarhostHttp ? 'skipped' : '–',
        f !== undefined ? fmtRate(f, unit) : '–',
        s !== undefined && f !== undefined ? fmtRatio(s / f) : '–',
        '',
        '',
        'both hosts in a child process, driven from outside [d]',
      ]);
    };
    httpRow('4d', 'host→app via HTTP API, 1 in flight', 'serial', ' req/s');
    httpRow('4e', 'host→app via HTTP API, 100 in flight', 'inflight100', ' req/s');
    httpRow('4f', 'app→host events seen on /api/events', 'events', ' ev/s');
    if (throughput.errors.length) footnotes.push(`row 4 errors: ${throughput.errors.join(' | ')}`);
    for (const [name, reason] of Object.entries(throughput.skipped)) footnotes.push(`row 4: ${name} not measured: ${reason}`);
  } else {
    rows.push(['4', 'throughput', 'not measured', 'not measured', '–', '', '', results.failures.throughput ?? '']);
  }

  if (startup) {
    const both = (label: string, id: string, key: 'existing' | 'firstRun', note: string) =>
      rows.push([
        id,
        label,
        fmtMs(startup.sonarhost[key]),
        startup.flipper[key] !== undefined ? fmtMs(startup.flipper[key]) : startup.flipperSkipped ? 'skipped' : '–',
        startup.sonarhost[key] && startup.flipper[key] ? fmtRatio(startup.flipper[key]! / startup.sonarhost[key]!) : '–',
        '',
        '',
        note,
      ]);
    both('start-up to listening, existing certificates', '5a', 'existing', `median of ${startup.repeats}; \`node -e ""\` alone: ${fmtMs(startup.nodeBaselineMs)} [e]`);
    both('start-up to listening, first run (CA generated)', '5b', 'firstRun', 'fresh --cert-dir / fresh HOME');
    if (startup.errors.length) footnotes.push(`row 5 errors: ${startup.errors.join(' | ')}`);
  } else {
    rows.push(['5', 'start-up', 'not measured', 'not measured', '–', '', '', results.failures.startup ?? '']);
  }

  footnotes.unshift(
    '[a] sonarhost: TLS + SETUP until the host has the answer to getPlugins (it then asks getBackgroundPlugins); in brackets, until its getPlugins request reaches the app. flipper-server does not call the app without a UI: TLS + SETUP until its UI WebSocket reports client-connected (the advantage in 3a compares this with "getPlugins asked"). 3b: sonarhost until getPlugins answered, flipper-server until client-connected; 16 connections in flight, the bench client (same code for both) shares the 2 cores with the host.',
    '[b] sonarhost started in-process (startTestHost) and driven with AppSession.call; the app is a raw rsocket-js client in the same process. raw = RSocketServer + RSocketClient in one process, same JSON work, setNoDelay; "TLS" adds TLS as on the secure port. Advantage column: in-process sonarhost vs flipper-server driven from outside.',
    '[c] flipper-server: exec client-request-response on ws://localhost:<uiPort>/ (answer: {"event":"exec-response","payload":{"id":…,"data":{"success":…,"length":…}}}); events counted as client-message server events. Restarted whenever its log file could pass ~900 KB (it rotates at 1 MiB and died doing so here).',
    '[d] sonarhost binary in a child process: POST /api/clients/{id}/call (keep-alive, up to 100 sockets) and the /api/events stream, against flipper-server driven the same way through its UI WebSocket.',
    '[e] sonarhost: spawn → "listening (insecure)" log line of `node dist/src/cli/main.js start`; flipper-server: spawn → its exchange port accepts a TCP connection.',
    '[f] Both host children get the same preload (bench/memory-probe.ts: --expose-gc, on SIGUSR2 two full GCs then process.memoryUsage()). RSS deltas are approximate: a large process (flipper-server starts at ~240 MB) reuses memory it already holds, so its ΔRSS can understate; the heap figure compares like with like. The rest of ΔRSS is native: mostly each TLS connection\'s OpenSSL state and buffers.',
  );
  return { text: formatTable([HEADER, ...rows]), footnotes };
}

function formatTable(rows: Row[]): string {
  const widths = HEADER.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: Row) => '| ' + row.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ') + ' |';
  const rule = '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|';
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

export interface TargetCheck {
  target: string;
  met: boolean | undefined;
  detail: string;
}

/** The targets, reported (never asserted). */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const exchangeKinds: Array<[string, ExchangeKindResult | undefined]> = [
    ['desktop', results.exchange?.desktop],
    ['iOS simulator', results.exchange?.simulator],
    ['Android', results.android?.skipped ? undefined : results.android],
  ];
  for (const [name, kind] of exchangeKinds) {
    checks.push({
      target: `exchange ≥10× faster than flipper-server at p50 (${name})`,
      met: kind?.ratioP50 === undefined ? undefined : kind.ratioP50 >= 10,
      detail: kind?.ratioP50 === undefined ? 'not measured' : `${fmtMs(kind.sonarhost?.p50)} vs ${fmtMs(kind.flipper?.p50)}: ${fmtRatio(kind.ratioP50)}`,
    });
  }
  const r = results.throughput?.rates;
  for (const [mode, label] of [
    ['serial', '1 in flight'],
    ['inflight100', '100 in flight'],
  ] as Array<[Mode, string]>) {
    const s = r?.sonarhost?.[mode];
    const raw = r?.raw?.[mode];
    const rawTls = r?.rawTls?.[mode];
    const f = r?.flipper?.[mode];
    const http = r?.sonarhostHttp?.[mode];
    checks.push({
      target: `host→app ≥80% of raw rsocket-js (${label})`,
      met: s !== undefined && raw ? s / raw >= 0.8 : undefined,
      detail: s !== undefined && raw ? `${fmtRate(s)} vs ${fmtRate(raw)} TCP: ${pct(s / raw)} (vs ${fmtRate(rawTls)} TLS: ${pct(rawTls ? s / rawTls : undefined)})` : 'not measured',
    });
    checks.push({
      target: `host→app ≥10× flipper-server (${label})`,
      met: s !== undefined && f ? s / f >= 10 : undefined,
      detail: s !== undefined && f ? `in-process ${fmtRate(s)} vs ${fmtRate(f)}: ${fmtRatio(s / f)}; through the HTTP API ${fmtRate(http)}: ${fmtRatio(http !== undefined ? http / f : undefined)}` : 'not measured',
    });
  }
  const hold = results.secure?.sonarhost;
  checks.push({
    target: '1,000 concurrent clients with <100 KB host memory per idle client',
    met: hold ? hold.connected >= 1000 && (hold.bytesPerClient ?? Infinity) < 100 * 1024 : undefined,
    detail: hold ? `${hold.connected} clients held, ${fmtBytes(hold.bytesPerClient)} per idle client` : 'not measured',
  });
  return checks;
}
