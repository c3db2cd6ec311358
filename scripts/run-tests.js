#!/usr/bin/env node
// Runs the compiled test suite (dist/test/**/*.test.js, or the files given as arguments) with Node's
// test runner in TAP form and passes its output through unchanged, ending with the runner's own summary
// (`# pass N`, `# fail N`, ...). In CI (CI=true) a skipped test fails the run, unless it is on the
// allow-list below: a test that skips proves nothing, and a CI that stays green while a test skips
// (a browser or a server that could not start) hides exactly the failure it was written to catch.
// A skip that fails the run is counted under `# fail` in the summary, and named just above it.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

/**
 * Skips CI may keep, each with why. Keep this list short: a test that needs something CI could install
 * must not be here (install it in .ci/run instead). Matched against the test's full name, its suites
 * and itself joined with " > ".
 */
export const ALLOWED_SKIPS = [
  // Mounting a tmpfs needs CAP_SYS_ADMIN, which an unprivileged container does not have; nothing in
  // .ci/run can grant it. The store's error handling they check is plain fs code that runs everywhere.
  { name: /^certificate folder faults > a (full disk|read-only folder): /, why: 'needs to mount a tmpfs (CAP_SYS_ADMIN)' },
];

const SUMMARY = /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /;

/**
 * Files that take much longer than the rest: the 100 s soak, and the outside-plugin packages npm packs
 * and installs (about 50 s). Node's runner starts files in path order, whatever order it is given them
 * in, so the soak (near the end of that order) ran alone while the other worker sat idle. They run one
 * after the other in a runner of their own, started beside the main one.
 */
const LONG_RUNNING = ['soak/soak.test.js', 'package/outside-plugins.test.js'];

/** `files` split into the long-running ones and the rest (a run of only one kind is not split). */
export function splitLongRunning(files) {
  const isLong = (file) => LONG_RUNNING.some((name) => file.replaceAll('\\', '/').endsWith(`/${name}`));
  const long = files.filter(isLong);
  const rest = files.filter((file) => !isLong(file));
  return long.length > 0 && rest.length > 0 ? { long, rest } : { long: [], rest: files };
}

/** Summary lines of two runners as one: counts added, the longer duration kept. */
export function mergeSummaries(a, b) {
  const values = new Map();
  for (const line of [...a, ...b]) {
    const [, key, value] = /^# (\w+) ([\d.]+)/.exec(line) ?? [];
    if (!key) continue;
    values.set(key, key === 'duration_ms' ? Math.max(values.get(key) ?? 0, Number(value)) : (values.get(key) ?? 0) + Number(value));
  }
  return [...values].map(([key, value]) => `# ${key} ${value}`);
}

/** One `node --test` runner over `files`; `onLine` sees its TAP lines; resolves with [code, signal] once they are all read. */
function runner(files, runId, concurrency, onLine) {
  const child = spawn(process.execPath, ['--import', './dist/test/setup.js', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', '--test-reporter=tap', ...files], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SONARHOST_TEST_RUN: runId },
  });
  const exited = new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve([child.exitCode, child.signalCode]) : child.once('exit', (c, sig) => resolve([c, sig]))));
  return (async () => {
    for await (const text of createInterface({ input: child.stdout, crlfDelay: Infinity })) onLine(text);
    return exited;
  })();
}

function testFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...testFiles(path));
    else if (entry.name.endsWith('.test.js')) found.push(path);
  }
  return found.sort();
}

/** The skipped tests in a TAP stream: nesting is by indentation (4 spaces), names come from `# Subtest:`. */
export class SkipCollector {
  skipped = [];
  #names = [];

  line(text) {
    const indent = /^ */.exec(text)[0].length;
    const depth = Math.floor(indent / 4);
    const body = text.slice(indent);
    const subtest = /^# Subtest: (.*)$/.exec(body);
    if (subtest) {
      this.#names.length = depth;
      this.#names[depth] = subtest[1];
      return;
    }
    const result = /^(?:not )?ok \d+ - (.*?) # SKIP(?: (.*))?$/.exec(body);
    if (result) {
      const name = [...this.#names.slice(0, depth), result[1]].join(' > ');
      this.skipped.push({ name, reason: result[2] ?? '' });
    }
  }

  disallowed() {
    return this.skipped.filter((s) => !ALLOWED_SKIPS.some((a) => a.name.test(s.name)));
  }
}

/** Pids of running adb processes (Linux /proc; elsewhere none are seen, and the check passes). */
export function adbPids() {
  const pids = [];
  for (const name of (() => {
    try {
      return readdirSync('/proc');
    } catch {
      return [];
    }
  })()) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'adb' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The SONARHOST_TEST_RUN a process was started with (a daemon keeps its environment), or undefined. */
export function testRunOf(pid) {
  try {
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('SONARHOST_TEST_RUN='));
    return entry?.slice('SONARHOST_TEST_RUN='.length);
  } catch {
    return undefined;
  }
}

async function main() {
  const files = process.argv.length > 2 ? process.argv.slice(2) : testFiles('dist/test');
  // No test may leave an adb server behind (a developer's own adb server, there before, is left alone).
  // The run's processes carry its id in their environment: a server another run started meanwhile (a
  // test of this runner runs one inside the suite) is that run's to report, not this one's to kill.
  const runId = randomUUID();
  const adbBefore = new Set(adbPids());
  const { long, rest } = splitLongRunning(files);
  const skips = new SkipCollector();
  const longSkips = new SkipCollector();
  const longLines = [];
  const longRun = long.length > 0 ? runner(long, runId, 1, (text) => (longSkips.line(text), longLines.push(text))) : undefined;
  let summary = [];
  const [code, signal] = await runner(rest, runId, 2, (text) => {
    skips.line(text);
    // The summary is held back, so that skips that fail the run can be named before it.
    if (SUMMARY.test(text)) {
      summary.push(text);
      return;
    }
    for (const held of summary) process.stdout.write(held + '\n');
    summary = [];
    process.stdout.write(text + '\n');
  });
  let [longCode, longSignal] = [0, null];
  if (longRun) {
    [longCode, longSignal] = await longRun;
    process.stdout.write(`# run beside the rest, in a runner of their own: ${long.join(', ')}\n`);
    for (const text of longLines) if (!SUMMARY.test(text)) process.stdout.write(text + '\n');
    summary = mergeSummaries(summary, longLines.filter((text) => SUMMARY.test(text)));
  }
  const failing = process.env.CI === 'true' ? [...skips.disallowed(), ...longSkips.disallowed()] : [];
  if (failing.length > 0) {
    process.stdout.write(`# CI: ${failing.length} skipped test${failing.length === 1 ? ' is' : 's are'} not on the allow-list in scripts/run-tests.js and fail${failing.length === 1 ? 's' : ''} the run:\n`);
    for (const s of failing) process.stdout.write(`#   ${s.name} (skipped: ${s.reason || 'no reason given'})\n`);
    summary = summary.map((line) => {
      const [, key, value] = /^# (\w+) (\d+)/.exec(line) ?? [];
      if (key === 'fail') return `# fail ${Number(value) + failing.length}`;
      if (key === 'skipped') return `# skipped ${Number(value) - failing.length}`;
      return line;
    });
  }
  const leftAdb = adbPids().filter((pid) => !adbBefore.has(pid) && [undefined, runId].includes(testRunOf(pid)));
  if (leftAdb.length > 0) {
    process.stdout.write(`# adb servers left running by the suite (stopped now): ${leftAdb.join(', ')}; every test must stop what it started\n`);
    for (const pid of leftAdb) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    summary = summary.map((line) => (/^# fail (\d+)/.test(line) ? `# fail ${Number(/^# fail (\d+)/.exec(line)[1]) + 1}` : line));
  }
  for (const held of summary) process.stdout.write(held + '\n');
  const worst = (c, sig) => (sig ? 1 : (c ?? 1));
  process.exitCode = failing.length > 0 || leftAdb.length > 0 ? 1 : Math.max(worst(code, signal), worst(longCode, longSignal));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
