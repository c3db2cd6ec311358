import { type AndroidExchangeResult } from './android-exchange.js';
import { type ExchangeKindResult, type ExchangeLatencyResult } from './exchange-latency.js';
import { type HoldResult, type ScalePoint, type SecureConnectionResult } from './secure-connections.js';
import { type StartupResult } from './startup.js';
import { type LatencySummary, fmtBytes, fmtMs, fmtRate, fmtRatio } from './stats.js';
import { type Mode, type ThroughputResult } from './throughput.js';
import { type ToolRoundTripResult } from './tool-round-trip.js';

export interface BenchResults {
  exchange?: ExchangeLatencyResult;
  android?: AndroidExchangeResult;
  secure?: SecureConnectionResult;
  throughput?: ThroughputResult;
  startup?: StartupResult;
  /** Row 6: a plugin call through MCP, `sonarhost call` and the API. */
  tools?: ToolRoundTripResult;
  /** Rows that failed as a whole, with the reason. */
  failures: Record<string, string>;
  /** The 1-minute load average per core when each step began and ended (rows taken above 1.5 are marked). */
  stepLoad?: Record<string, { start: number; end: number }>;
}

/** Above this 1-minute load per core, latencies mostly measure the machine: such rows say so. */
export const LOADED_PER_CORE = 1.5;

/** Which rows each step makes (by the first character of their id). */
const STEP_OF_ROW: Record<string, string> = { '1': 'exchange', '2': 'android', '3': 'secure', '4': 'throughput', '5': 'startup' };

type Row = [id: string, measurement: string, sonarhost: string, flipper: string, advantage: string, raw: string, ofRaw: string, note: string];

const HEADER: Row = ['#', 'measurement', 'sonarhost', 'flipper-server 0.162.0', 'sonarhost advantage', 'raw pair / floor', 'sonarhost vs raw', 'notes'];
const CPU_HEADER = 'host CPU per op, sonarhost / flipper-server [j]';

const pct = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '–' : `${Math.round(value * 100)}%`);

const cpuNote = (cpu: Record<string, number> | undefined, ...names: string[]) => names.map((n) => (cpu?.[n] === undefined ? '–' : `${cpu[n]!.toFixed(2)} ms`)).join(' / ');

/** The one table: both hosts side by side; "advantage" > 1× means sonarhost is better (faster, more, smaller). */
export function renderTable(results: BenchResults): { text: string; footnotes: string[] } {
  const rows: Row[] = [];
  const footnotes: string[] = [];
  /** The CPU column's cells, by row id. */
  const cpuCells = new Map<string, string>();
  const { exchange, android, secure, throughput, startup } = results;

  const exchangeRow = (id: string, label: string, kind: ExchangeKindResult | undefined, reason: string | undefined, note: string) => {
    if (!kind || (!kind.sonarhost && !kind.flipper)) {
      rows.push([id, label, 'not measured', 'not measured', '–', '', '', reason ?? 'no samples']);
      return;
    }
    const cell = (s: ExchangeKindResult['sonarhost']) => (s ? `${fmtMs(s.p50)} / ${fmtMs(s.p95)}` : reason ? 'skipped' : '–');
    const errors = kind.errors.length ? `; errors: ${kind.errors.join(' | ')}` : '';
    rows.push([id, label, cell(kind.sonarhost), cell(kind.flipper), `${fmtRatio(kind.ratioP50)} / ${fmtRatio(kind.ratioP95)}`, '', '', note + errors]);
    if (kind.cpuMs) cpuCells.set(id, cpuPair(kind.cpuMs.sonarhost, kind.cpuMs.flipper));
  };
  const n = exchange?.perHost;
  exchangeRow('1a', 'cert exchange, desktop app (MacOS), p50 / p95', exchange?.desktop, results.failures.exchange ?? exchange?.flipperSkipped, `${n ?? '?'} each, interleaved; keys and CSRs made beforehand`);
  exchangeRow('1b', 'cert exchange, iOS simulator app, p50 / p95', exchange?.simulator, results.failures.exchange ?? exchange?.flipperSkipped, 'fake CoreSimulator tree; flipper-server with enableIOS');
  const vsRsocket = (ws?: ExchangeKindResult, rs?: ExchangeKindResult) =>
    ws?.sonarhost && rs?.sonarhost ? `; ours ${fmtRatio(ws.sonarhost.p50 / rs.sonarhost.p50)} of our RSocket p50` : '';
  exchangeRow('1c', 'WebSocket cert exchange (9089), desktop app, p50 / p95', exchange?.wsDesktop, results.failures.exchange ?? exchange?.flipperSkipped, `same rounds as 1a, ws client without compression${vsRsocket(exchange?.wsDesktop, exchange?.desktop)}`);
  exchangeRow('1d', 'WebSocket cert exchange (9089), iOS simulator app, p50 / p95', exchange?.wsSimulator, results.failures.exchange ?? exchange?.flipperSkipped, `same rounds as 1b${vsRsocket(exchange?.wsSimulator, exchange?.simulator)}`);
  if (android?.skipped || results.failures.android) {
    rows.push(['2', 'cert exchange, Android (adb + fake device), p50 / p95', 'skipped', 'skipped', '–', '', '', android?.skipped ?? results.failures.android ?? '']);
  } else {
    exchangeRow('2a', 'cert exchange, Android (adb + fake device), p50 / p95', android, android?.flipperSkipped, `${android?.perHost ?? '?'} each; real adb server, test/helpers/fake-adb device`);
    exchangeRow('2b', 'WebSocket cert exchange, Android through adb reverse, p50 / p95', android?.ws, android?.flipperSkipped, `the app dials the device's localhost:9089, carried by each host's own adb reverse${vsRsocket(android?.ws, android)}`);
  }

  if (secure) {
    const l = secure.latency;
    rows.push([
      '3a',
      'secure connection set-up, one at a time, p50 / p95',
      l.sonarhost ? `${fmtMs(l.sonarhost.p50)} / ${fmtMs(l.sonarhost.p95)} (getPlugins asked: ${fmtMs(l.sonarhostFirstRequest?.p50)} / ${fmtMs(l.sonarhostFirstRequest?.p95)})` : '–',
      l.flipper ? `${fmtMs(l.flipper.p50)} / ${fmtMs(l.flipper.p95)}` : secure.flipperSkipped ? 'skipped' : '–',
      fmtRatio(l.ratioP50),
      l.floorMtls ? `${fmtMs(l.floorMtls.p50)} / ${fmtMs(l.floorMtls.p95)} mTLS` : '–',
      l.sonarhost && l.floorMtls ? `${fmtRatio(l.sonarhost.p50 / l.floorMtls.p50)} the floor` : '–',
      `end points differ; ratio on "getPlugins asked" [a]; floor [g]; host CPU per set-up ${cpuNote(l.hostCpuMs, 'sonarhost', 'flipper', 'floorMtls')} [h]`,
    ]);
    rows.push([
      '3f',
      'secure WebSocket set-up (9088: TLS + upgrade + getPlugins answered), p50 / p95',
      l.sonarhostWs ? `${fmtMs(l.sonarhostWs.p50)} / ${fmtMs(l.sonarhostWs.p95)} (getPlugins asked: ${fmtMs(l.sonarhostWsFirstRequest?.p50)} / ${fmtMs(l.sonarhostWsFirstRequest?.p95)})` : '–',
      l.flipperWs ? `${fmtMs(l.flipperWs.p50)} / ${fmtMs(l.flipperWs.p95)}` : secure.flipperSkipped ? 'skipped' : '–',
      fmtRatio(l.ratioWsP50),
      l.floorWss ? `${fmtMs(l.floorWss.p50)} / ${fmtMs(l.floorWss.p95)} wss` : '–',
      l.sonarhostWs && l.floorWss ? `${fmtRatio(l.sonarhostWs.p50 / l.floorWss.p50)} the floor` : '–',
      `as 3a, over WebSocket [a] [g]; host CPU per set-up ${cpuNote(l.hostCpuMs, 'sonarhostWs', 'flipperWs', 'floorWss')} [h]`,
    ]);
    cpuCells.set('3a', cpuPair(l.hostCpuMs?.['sonarhost'], l.hostCpuMs?.['flipper']) + ' [h]');
    cpuCells.set('3f', cpuPair(l.hostCpuMs?.['sonarhostWs'], l.hostCpuMs?.['flipperWs']) + ' [h]');
    const s = validHold(secure.sonarhost);
    const f = validHold(secure.flipper);
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
    idleClientRows(rows, {
      ids: ['3c', '3d', '3e'],
      held: 'idle RSocket clients held at once (target 1,000)',
      memory: 'host memory per idle client',
      floorKind: 'mTLS',
      rssNote: 'RSS of the host process (lowest of 3 readings, after forced GCs) [f]; floor: bench/floor-server.ts holding idle mTLS clients',
      holds: [secure.sonarhost, secure.flipper, secure.floorMtls],
    });
    const scaling = secure.scaling ?? [];
    if (scaling.length) {
      const at = (pick: (p: ScalePoint) => LatencySummary | undefined) => scaling.map((p) => `${p.clients.toLocaleString('en-US')}: ${p.error ? 'failed' : fmtMs(pick(p)?.p50)}`).join(' · ');
      rows.push(['3g', 'cost as clients grow: exchange p50 with N clients connected', at((p) => p.exchange), '', '', '', '', 'RSocket exchange, one at a time, 10 per point; flat is the goal']);
      rows.push(['3h', 'cost as clients grow: host→app call p50 with N clients connected', at((p) => p.call), '', '', '', '', 'through the HTTP API (keep-alive), one at a time, 40 per point']);
      const failedPoints = scaling.filter((p) => p.error).map((p) => `${p.clients}: ${p.error}`);
      if (failedPoints.length) footnotes.push(`rows 3g/3h failed points: ${failedPoints.join(' | ')}`);
    }
    if (secure.sonarhostWs || secure.flipperWs) {
      idleClientRows(rows, {
        ids: ['3i', '3j', '3k'],
        held: 'idle secure WebSocket clients held at once (9088)',
        memory: 'host memory per idle WebSocket client',
        floorKind: 'wss',
        rssNote: 'each process held its RSocket (or mTLS) clients first and closed them: memory it reuses can make ΔRSS understate [f]',
        holds: [secure.sonarhostWs, secure.flipperWs, secure.floorWss],
      });
    }
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
    const wsRow = (id: string, label: string, mode: Mode, unit: string) => {
      const s = r.sonarhostWs?.[mode];
      const f = r.flipperWs?.[mode];
      const raw = r.rawWs?.[mode];
      const rawTls = r.rawWss?.[mode];
      rows.push([
        id,
        label,
        fmtRate(s, unit),
        f !== undefined ? fmtRate(f, unit) : throughput.skipped.flipperWs ? 'skipped' : '–',
        s !== undefined && f !== undefined ? fmtRatio(s / f) : '–',
        `${fmtRate(raw, unit)} ws · ${fmtRate(rawTls, unit)} wss`,
        `${pct(s !== undefined && raw ? s / raw : undefined)} · ${pct(s !== undefined && rawTls ? s / rawTls : undefined)}`,
        'the app on the secure WebSocket port; otherwise as 4a–4c [b] [c]',
      ]);
    };
    wsRow('4g', 'host→app over WebSocket, 1 in flight', 'serial', ' req/s');
    wsRow('4h', 'host→app over WebSocket, 100 in flight', 'inflight100', ' req/s');
    wsRow('4i', 'app→host events over WebSocket', 'events', ' ev/s');
    const apiRow = (id: string, label: string, driver: 'sonarhostHttp' | 'sonarhostApiWs' | 'sonarhostFlipperUi', mode: Mode, unit: string, note: string) => {
      const s = r[driver]?.[mode];
      const f = r.flipper?.[mode];
      rows.push([
        id,
        label,
        s !== undefined ? fmtRate(s, unit) : throughput.skipped[driver] ? 'skipped' : '–',
        f !== undefined ? fmtRate(f, unit) : '–',
        s !== undefined && f !== undefined ? fmtRatio(s / f) : '–',
        '',
        '',
        note,
      ]);
    };
    const httpNote = 'both hosts in a child process, driven from outside [d]';
    apiRow('4d', 'host→app via HTTP API, 1 in flight', 'sonarhostHttp', 'serial', ' req/s', httpNote);
    apiRow('4e', 'host→app via HTTP API, 100 in flight', 'sonarhostHttp', 'inflight100', ' req/s', httpNote);
    apiRow('4f', 'app→host events seen on /api/events', 'sonarhostHttp', 'events', ' ev/s', httpNote);
    const wsApiNote = 'one /api/ws connection; flipper-server column: the same figure as 4d–4f [i]';
    apiRow('4j', 'host→app via the WebSocket API, 1 in flight', 'sonarhostApiWs', 'serial', ' req/s', wsApiNote);
    apiRow('4k', 'host→app via the WebSocket API, 100 in flight', 'sonarhostApiWs', 'inflight100', ' req/s', wsApiNote);
    apiRow('4l', 'app→host events on a /api/ws subscription', 'sonarhostApiWs', 'events', ' ev/s', wsApiNote);
    const uiNote = "flipper-server's UI protocol on both sides (client-request-response, client-message), the same client [c]";
    apiRow('4m', "host→app via Flipper's UI API, 1 in flight", 'sonarhostFlipperUi', 'serial', ' req/s', uiNote);
    apiRow('4n', "host→app via Flipper's UI API, 100 in flight", 'sonarhostFlipperUi', 'inflight100', ' req/s', uiNote);
    apiRow('4o', "app→host events as client-message on Flipper's UI API", 'sonarhostFlipperUi', 'events', ' ev/s', uiNote);
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
    '[b] sonarhost started in-process (startTestHost) and driven with AppSession.call; the app is a raw rsocket-js client in the same process. raw = RSocketServer + RSocketClient in one process, same JSON work, setNoDelay; "TLS" adds TLS as on the secure port. 4g–4i: the app is bench/ws-app.ts on the secure WebSocket port; raw = a `ws` server doing the host\'s JSON work (stringify, one parse, id match) and the same app in one process, "wss" with the secure port\'s TLS and client certificates. Advantage column: in-process sonarhost vs flipper-server driven from outside.',
    '[c] flipper-server: exec client-request-response on ws://localhost:<uiPort>/ with an id in the request as its UI sends (over WebSocket that id is how it matches the reply) (answer: {"event":"exec-response","payload":{"id":…,"data":{"success":…,"length":…}}}); events counted as client-message server events. Restarted whenever its log file could pass ~900 KB (it rotates at 1 MiB and died doing so here).',
    '[d] sonarhost binary in a child process: POST /api/clients/{id}/call (keep-alive, up to 100 sockets) and the /api/events stream, against flipper-server driven the same way through its UI WebSocket.',
    '[i] sonarhost binary in a child process, driven through its WebSocket API (/api/ws) with the CLI\'s HostApiClient: every call a `call` message on one connection (100 in flight = 100 calls multiplexed on it, answers matched by id); events from a `subscribe` (plugin-event) on the same connection. flipper-server\'s equivalent for tools is its UI WebSocket, already the comparison of 4d–4f: its figure there is reused, not measured again.',
    '[e] sonarhost: spawn → "listening (insecure)" log line of `node dist/src/cli/bin.js start` (the start-up bundle); flipper-server: spawn → its exchange port accepts a TCP connection.',
    '[g] The floor: a separate process (bench/floor-server.ts) with sonarhost\'s own server certificate and CA, the same client certificate, and the message pattern of a host\'s first request answered (server message, client answer, server message) and nothing else: raw TLS with newline framing ("mTLS"), and `ws` over TLS ("wss", upgrade included). Measured in the same interleaved rounds as 3a and 3f.',
    '[h] CPU time of the serving process\'s main thread per set-up (median, from /proc/<pid>/schedstat, read before and 5 ms after each one): the host\'s own work, much less sensitive to the machine\'s load than latency. Order: sonarhost / flipper-server / floor.',
    '[f] Both host children get the same preload (bench/memory-probe.ts: --expose-gc, on SIGUSR2 two full GCs then process.memoryUsage()). RSS deltas are approximate: a large process (flipper-server starts at ~240 MB) reuses memory it already holds, so its ΔRSS can understate; the heap figure compares like with like. The rest of ΔRSS is native: mostly each TLS connection\'s OpenSSL state and buffers.',
  );
  footnotes.push(
    `[j] CPU time of the host process per operation, all its threads and the children it waited for (flipper-server's openssl runs), from /proc: summed over the recorded operations, divided by their number. Less sensitive to the machine's load than latency. Rows marked "loaded" were taken while the 1-minute load average exceeded ${LOADED_PER_CORE} per core: their latencies mostly measure the machine.`,
  );
  for (const row of rows) {
    const load = results.stepLoad?.[STEP_OF_ROW[row[0][0]!] ?? ''];
    const worst = load ? Math.max(load.start, load.end) : 0;
    if (worst > LOADED_PER_CORE) row[7] = `loaded (${worst.toFixed(1)} per core); ${row[7]}`;
  }
  const table = [HEADER, ...rows].map((row, i): string[] => [...row.slice(0, 5), i === 0 ? CPU_HEADER : (cpuCells.get(row[0]) ?? ''), ...row.slice(5)]);
  return { text: formatTable(table), footnotes };
}

const cpuPair = (ours: number | undefined, theirs: number | undefined) => `${ours === undefined ? '–' : `${ours.toFixed(2)} ms`} / ${theirs === undefined ? '–' : `${theirs.toFixed(2)} ms`}`;

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) => '| ' + row.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ') + ' |';
  const rule = '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|';
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

export interface TargetCheck {
  target: string;
  met: boolean | undefined;
  detail: string;
}

/**
 * The goals, reported (never asserted): the performance rounds' current ones (exchange p50 ≥20× and
 * ≤2 ms of host CPU, memory per client ≤0.9× flipper-server's with ≤6 KB of heap, start-up ≤300 ms,
 * the tools' path ≥3×) and the earlier rounds' that still stand.
 */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const ratioCheck = (target: string, kind: ExchangeKindResult | undefined, goal: number) =>
    checks.push({
      target,
      met: kind?.ratioP50 === undefined ? undefined : kind.ratioP50 >= goal,
      detail: kind?.ratioP50 === undefined ? 'not measured' : `${fmtMs(kind.sonarhost?.p50)} vs ${fmtMs(kind.flipper?.p50)}: ${fmtRatio(kind.ratioP50)}`,
    });
  const android = results.android?.skipped ? undefined : results.android;
  const cpuCheck = (target: string, kind: ExchangeKindResult | undefined, goalMs: number) =>
    checks.push({
      target,
      met: kind?.cpuMs?.sonarhost === undefined ? undefined : kind.cpuMs.sonarhost <= goalMs,
      detail: kind?.cpuMs?.sonarhost === undefined ? 'not measured' : `${fmtMs(kind.cpuMs.sonarhost)} of host CPU per exchange (flipper-server ${fmtMs(kind.cpuMs.flipper)})`,
    });
  for (const [era, desktop, simulator] of [
    ['RSocket', results.exchange?.desktop, results.exchange?.simulator],
    ['WebSocket', results.exchange?.wsDesktop, results.exchange?.wsSimulator],
  ] as Array<[string, ExchangeKindResult | undefined, ExchangeKindResult | undefined]>) {
    ratioCheck(`${era} exchange ≥20× faster than flipper-server at p50 (desktop)`, desktop, 20);
    ratioCheck(`${era} exchange ≥20× faster than flipper-server at p50 (iOS simulator)`, simulator, 20);
    cpuCheck(`${era} exchange ≤2 ms of host CPU (desktop)`, desktop, 2);
    cpuCheck(`${era} exchange ≤3 ms of host CPU (iOS simulator)`, simulator, 3);
  }
  ratioCheck('exchange ≥6× faster than flipper-server at p50 (Android)', android, 6);
  ratioCheck('WebSocket exchange ≥6× faster than flipper-server at p50 (Android, adb reverse)', android?.ws, 6);
  const startup = results.startup;
  for (const [key, goal, label] of [
    ['existing', 300, 'existing certificates'],
    ['firstRun', 600, 'first run'],
  ] as Array<['existing' | 'firstRun', number, string]>) {
    const ms = startup?.sonarhost[key];
    checks.push({
      target: `start-up to listening ≤${goal} ms (${label})`,
      met: ms === undefined ? undefined : ms <= goal,
      detail: ms === undefined ? 'not measured' : `${fmtMs(ms)} (\`node -e ""\` alone: ${fmtMs(startup?.nodeBaselineMs)})`,
    });
  }
  for (const [name, ws, rs] of [
    ['desktop', results.exchange?.wsDesktop, results.exchange?.desktop],
    ['iOS simulator', results.exchange?.wsSimulator, results.exchange?.simulator],
  ] as Array<[string, ExchangeKindResult | undefined, ExchangeKindResult | undefined]>) {
    const a = ws?.sonarhost?.p50;
    const b = rs?.sonarhost?.p50;
    checks.push({
      target: `WebSocket exchange within 1.2× of our RSocket exchange at p50 (${name})`,
      met: a !== undefined && b !== undefined ? a / b <= 1.2 : undefined,
      detail: a !== undefined && b !== undefined ? `${fmtMs(a)} vs ${fmtMs(b)}: ${fmtRatio(a / b)}` : 'not measured',
    });
  }
  const l = results.secure?.latency;
  const floorCheck = (target: string, ours: LatencySummary | undefined, floor: LatencySummary | undefined) =>
    checks.push({
      target,
      met: ours && floor ? ours.p50 / floor.p50 <= 1.3 : undefined,
      detail: ours && floor ? `${fmtMs(ours.p50)} vs ${fmtMs(floor.p50)}: ${fmtRatio(ours.p50 / floor.p50)}` : 'not measured',
    });
  floorCheck('secure set-up (getPlugins answered) ≤1.3× raw mTLS + one round trip, p50', l?.sonarhost, l?.floorMtls);
  floorCheck('secure WebSocket set-up ≤1.3× raw wss + client certificate + one round trip, p50', l?.sonarhostWs, l?.floorWss);
  const s = validHold(results.secure?.sonarhost);
  const f = validHold(results.secure?.flipper);
  checks.push({
    target: 'secure set-ups per second, 16 in flight, ≥2.5× flipper-server',
    met: s && f && f.connected > 0 ? s.ratePerSecond / f.ratePerSecond >= 2.5 : undefined,
    detail: s && f && f.connected > 0 ? `${fmtRate(s.ratePerSecond)} vs ${fmtRate(f.ratePerSecond)}: ${fmtRatio(s.ratePerSecond / f.ratePerSecond)}` : 'not measured',
  });
  const r = results.throughput?.rates;
  for (const [mode, label] of [
    ['serial', '1 in flight'],
    ['inflight100', '100 in flight'],
  ] as Array<[Mode, string]>) {
    const ours = r?.sonarhost?.[mode];
    const raw = r?.raw?.[mode];
    const rawTls = r?.rawTls?.[mode];
    const fl = r?.flipper?.[mode];
    const http = r?.sonarhostHttp?.[mode];
    const wsApi = r?.sonarhostApiWs?.[mode];
    // The tools' API is whichever of its two doors (HTTP, WebSocket) is faster in this run.
    const best = http === undefined && wsApi === undefined ? undefined : Math.max(http ?? 0, wsApi ?? 0);
    checks.push({
      target: `host→app ≥80% of raw rsocket-js (${label})`,
      met: ours !== undefined && raw ? ours / raw >= 0.8 : undefined,
      detail: ours !== undefined && raw ? `${fmtRate(ours)} vs ${fmtRate(raw)} TCP: ${pct(ours / raw)} (vs ${fmtRate(rawTls)} TLS: ${pct(rawTls ? ours / rawTls : undefined)})` : 'not measured',
    });
    checks.push({
      target: `host→app through the tools' API (best of HTTP and WebSocket API) ≥3× flipper-server (${label})`,
      met: best !== undefined && fl ? best / fl >= 3 : undefined,
      detail:
        best !== undefined && fl
          ? `${best === wsApi ? 'WebSocket' : 'HTTP'} API ${fmtRate(best)} vs ${fmtRate(fl)}: ${fmtRatio(best / fl)} (HTTP ${fmtRate(http)}: ${fmtRatio(http !== undefined ? http / fl : undefined)}, WebSocket ${fmtRate(wsApi)}: ${fmtRatio(wsApi !== undefined ? wsApi / fl : undefined)}; in-process ${fmtRate(ours)}: ${fmtRatio(ours !== undefined ? ours / fl : undefined)})`
          : 'not measured',
    });
  }
  const wsOurs = r?.sonarhostWs?.inflight100;
  const wsRaw = r?.rawWss?.inflight100;
  checks.push({
    target: 'host→app over WebSocket ≥80% of the raw wss pair (100 in flight)',
    met: wsOurs !== undefined && wsRaw ? wsOurs / wsRaw >= 0.8 : undefined,
    detail: wsOurs !== undefined && wsRaw ? `${fmtRate(wsOurs)} vs ${fmtRate(wsRaw)}: ${pct(wsOurs / wsRaw)} (vs plain ws ${fmtRate(r?.rawWs?.inflight100)}: ${pct(r?.rawWs?.inflight100 ? wsOurs / r.rawWs.inflight100 : undefined)})` : 'not measured',
  });
  const ev = r?.sonarhostHttp?.events;
  const fev = r?.flipper?.events;
  checks.push({
    target: 'app→host events on the API stream ≥3× flipper-server',
    met: ev !== undefined && fev ? ev / fev >= 3 : undefined,
    detail: ev !== undefined && fev ? `${fmtRate(ev)} vs ${fmtRate(fev)}: ${fmtRatio(ev / fev)}` : 'not measured',
  });
  const memoryMeasured = s?.bytesPerClient !== undefined && f?.bytesPerClient !== undefined && s.heapBytesPerClient !== undefined;
  checks.push({
    target: "host memory per idle client ≤0.9× flipper-server's (ΔRSS / clients, same run) and V8 heap ≤6 KB per client",
    met: memoryMeasured ? s!.bytesPerClient! / f!.bytesPerClient! <= 0.9 && s!.heapBytesPerClient! <= 6 * 1024 : undefined,
    detail: memoryMeasured
      ? `${fmtBytes(s!.bytesPerClient)} vs ${fmtBytes(f!.bytesPerClient)}: ${fmtRatio(s!.bytesPerClient! / f!.bytesPerClient!)} of flipper-server's (${s!.connected} and ${f!.connected} clients held); heap ${fmtBytes(s!.heapBytesPerClient)} vs ${fmtBytes(f!.heapBytesPerClient)}${floorNote(results.secure?.floorMtls)}`
      : 'not measured',
  });
  const scaling = results.secure?.scaling?.filter((p) => !p.error) ?? [];
  if (scaling.length >= 2) {
    const first = scaling[0]!;
    const last = scaling[scaling.length - 1]!;
    const growth = (pick: (p: ScalePoint) => LatencySummary | undefined) => (pick(first) && pick(last) ? pick(last)!.p50 / pick(first)!.p50 : undefined);
    const e = growth((p) => p.exchange);
    const c = growth((p) => p.call);
    checks.push({
      target: `flat cost as clients grow: exchange and call p50 at ${last.clients.toLocaleString('en-US')} clients ≤1.5× at ${first.clients}`,
      met: e !== undefined && c !== undefined ? e <= 1.5 && c <= 1.5 : undefined,
      detail: `exchange ${fmtRatio(e)}, call ${fmtRatio(c)}`,
    });
  }
  return checks;
}

/** The raw mTLS floor's own cost per idle client, beside the memory target (its heap bounds what any host could reach). */
function floorNote(hold: HoldResult | undefined): string {
  const floor = validHold(hold);
  return floor ? `; the raw mTLS floor ${fmtBytes(floor.bytesPerClient)} with ${fmtBytes(floor.heapBytesPerClient)} of heap` : '';
}

/** A hold whose host listed a different client count measured something else: its figures are not shown. */
function validHold(hold: HoldResult | undefined): HoldResult | undefined {
  return hold && !hold.voided ? hold : undefined;
}

/**
 * Three rows for one kind of idle client (3c–3e RSocket, 3i–3k WebSocket): how many each host (and the
 * floor) held, ΔRSS per client, heap per client. `holds` is sonarhost, flipper-server, the floor.
 */
function idleClientRows(
  rows: string[][],
  spec: { ids: [string, string, string]; held: string; memory: string; floorKind: string; rssNote: string; holds: [HoldResult | undefined, HoldResult | undefined, HoldResult | undefined] },
): void {
  const [s, f, fl] = spec.holds.map(validHold);
  const [rawS, rawF, rawFl] = spec.holds;
  const voids = spec.holds.filter((h) => h?.voided).map((h) => `VOID: ${h!.voided}`).join('; ');
  const measured = [rawS && `sonarhost column: ${rawS.hostProcess}`, rawF && `flipper-server column: ${rawF.hostProcess}`].filter(Boolean).join(', ');
  const rss = (h: HoldResult) => `${fmtBytes(h.bytesPerClient)} (RSS ${fmtBytes(h.rssBeforeBytes)} → ${fmtBytes(h.rssAfterBytes)})`;
  rows.push([
    spec.ids[0],
    spec.held,
    s ? `${s.connected} of ${s.target}; host lists ${s.hostReportedClients ?? '?'}` : '–',
    f ? `${f.connected}; host lists ${f.hostReportedClients ?? '?'}` : '–',
    '',
    fl ? `${fl.connected}; floor lists ${fl.hostReportedClients ?? '?'}` : '–',
    '',
    [s?.stoppedBecause && `sonarhost: ${s.stoppedBecause}`, f?.stoppedBecause && `flipper-server stopped at ${f.connected}: ${f.stoppedBecause}`, voids, measured, rawFl && `floor: ${rawFl.hostProcess}`].filter(Boolean).join('; ') ||
      'each client a distinct `device`, one issued certificate',
  ]);
  rows.push([
    spec.ids[1],
    `${spec.memory}: ΔRSS / clients`,
    s ? rss(s) : '–',
    f ? rss(f) : '–',
    s?.bytesPerClient && f?.bytesPerClient ? fmtRatio(f.bytesPerClient / s.bytesPerClient) : '–',
    fl ? `${fmtBytes(fl.bytesPerClient)} (${fl.connected} ${spec.floorKind} clients)` : '–',
    s?.bytesPerClient && fl?.bytesPerClient ? `${fmtRatio(s.bytesPerClient / fl.bytesPerClient)} the floor` : '–',
    spec.rssNote,
  ]);
  rows.push([
    spec.ids[2],
    `${spec.memory}: V8 heap used / clients`,
    s ? fmtBytes(s.heapBytesPerClient) : '–',
    f ? fmtBytes(f.heapBytesPerClient) : '–',
    s?.heapBytesPerClient && f?.heapBytesPerClient ? fmtRatio(f.heapBytesPerClient / s.heapBytesPerClient) : '–',
    fl ? fmtBytes(fl.heapBytesPerClient) : '–',
    '',
    'process.memoryUsage().heapUsed after forced GCs [f]',
  ]);
}
