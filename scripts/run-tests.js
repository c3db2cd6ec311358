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
 * Files that take much longer than the rest (the 100 s soak, the plugin packages packed and installed
 * with npm): started first, they run beside everything else instead of alone at the end of the run,
 * so that the run does not end with one worker idle.
 */
const LONG_RUNNING = ['soak/soak.test.js', 'package/outside-plugins.test.js', 'package/plugin-packages.test.js'];

/** The order the runner starts files in: the long-running ones first, then the rest as sorted. */
export function runOrder(files) {
  const rank = (file) => {
    const at = LONG_RUNNING.findIndex((name) => file.replaceAll('\\', '/').endsWith(`/${name}`));
    return at === -1 ? LONG_RUNNING.length : at;
  };
  return [...files].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
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
  const files = process.argv.length > 2 ? process.argv.slice(2) : runOrder(testFiles('dist/test'));
  // No test may leave an adb server behind (a developer's own adb server, there before, is left alone).
  // The run's processes carry its id in their environment: a server another run started meanwhile (a
  // test of this runner runs one inside the suite) is that run's to report, not this one's to kill.
  const runId = randomUUID();
  const adbBefore = new Set(adbPids());
  const child = spawn(process.execPath, ['--import', './dist/test/setup.js', '--test', '--test-concurrency=2', '--test-timeout=180000', '--test-reporter=tap', ...files], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SONARHOST_TEST_RUN: runId },
  });
  const skips = new SkipCollector();
  let summary = [];
  for await (const text of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
    skips.line(text);
    // The summary is held back, so that skips that fail the run can be named before it.
    if (SUMMARY.test(text)) {
      summary.push(text);
      continue;
    }
    for (const held of summary) process.stdout.write(held + '\n');
    summary = [];
    process.stdout.write(text + '\n');
  }
  const [code, signal] = await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve([child.exitCode, child.signalCode]) : child.once('exit', (c, s) => resolve([c, s]))));
  const failing = process.env.CI === 'true' ? skips.disallowed() : [];
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
  process.exitCode = failing.length > 0 || leftAdb.length > 0 ? 1 : signal ? 1 : (code ?? 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
