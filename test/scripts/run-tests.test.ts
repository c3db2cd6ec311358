import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type PrivateAdbServer, startPrivateAdbServer } from '../helpers/fake-adb/adb-server.js';
import { accepts, freePorts } from '../helpers/free-ports.js';
import { eventually } from '../helpers/test-host.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function runTests(files: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  // Without this variable the inner runner would report to this one (in its own binary form), not in TAP.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'run-tests.js'), ...files], { cwd: ROOT, env: { ...outer, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}

const summary = (stdout: string) => Object.fromEntries([...stdout.matchAll(/^# (pass|fail|skipped) (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));

/** `npm test` runs the suite through scripts/run-tests.js: in CI a skip fails the run unless allow-listed. */
describe('scripts/run-tests.js', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let mixed: string;
  let allowedOnly: string;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    mixed = join(dir, 'mixed.test.mjs');
    await writeFile(
      mixed,
      `import { describe, it } from 'node:test';
describe('certificate folder faults', () => { it('a full disk: allowed', { skip: 'no tmpfs' }, () => {}); });
describe('a suite', () => { it('skips for want of a tool', { skip: 'not installed' }, () => {}); });
it('passes', () => {});
`,
    );
    allowedOnly = join(dir, 'allowed.test.mjs');
    await writeFile(allowedOnly, `import { describe, it } from 'node:test';\ndescribe('certificate folder faults', () => { it('a read-only folder: allowed', (t) => t.skip('no tmpfs')); });\nit('passes', () => {});\n`);
  });
  after(() => cleanup());

  it('in CI, fails the run for a skip that is not on the allow-list, names it, and still ends with the summary', async () => {
    const { code, stdout } = await runTests([mixed], { CI: 'true' });
    assert.equal(code, 1, stdout);
    assert.match(stdout, /^# CI: 1 skipped test is not on the allow-list.*\n#   a suite > skips for want of a tool \(skipped: not installed\)$/m);
    assert.deepEqual(summary(stdout), { pass: 1, fail: 1, skipped: 1 });
    assert.match(stdout.trimEnd().split('\n').at(-1)!, /^# duration_ms /, 'the runner\'s summary stays last');
  });

  it('in CI, passes a run whose only skips are allow-listed', async () => {
    const { code, stdout } = await runTests([allowedOnly], { CI: 'true' });
    assert.equal(code, 0, stdout);
    assert.deepEqual(summary(stdout), { pass: 1, fail: 0, skipped: 1 });
  });

  it('outside CI, reports skips as the runner does and passes', async () => {
    const { code, stdout } = await runTests([mixed], { CI: '' });
    assert.equal(code, 0, stdout);
    assert.deepEqual(summary(stdout), { pass: 1, fail: 0, skipped: 2 });
  });
});

describe('the long-running files, in a runner of their own beside the rest', () => {
  it('splits them off only when there is a rest to run beside, and adds up the two summaries', async () => {
    const { splitLongRunning, mergeSummaries } = (await import(join(ROOT, 'scripts', 'run-tests.js'))) as {
      splitLongRunning: (files: string[]) => { long: string[]; rest: string[] };
      mergeSummaries: (a: string[], b: string[]) => string[];
    };
    assert.deepEqual(splitLongRunning(['dist/test/cli/a.test.js', 'dist/test/soak/soak.test.js', 'dist/test/core/b.test.js']), {
      long: ['dist/test/soak/soak.test.js'],
      rest: ['dist/test/cli/a.test.js', 'dist/test/core/b.test.js'],
    });
    assert.deepEqual(splitLongRunning(['dist/test/soak/soak.test.js']), { long: [], rest: ['dist/test/soak/soak.test.js'] }, 'the soak alone runs as usual');
    assert.deepEqual(mergeSummaries(['# tests 3', '# pass 2', '# fail 1', '# duration_ms 900.5'], ['# tests 1', '# pass 1', '# fail 0', '# duration_ms 1200']), ['# tests 4', '# pass 3', '# fail 1', '# duration_ms 1200']);
  });

  it('counts their results in the run: a failure there fails the run, and the summary stays last', async () => {
    const { path: folder, cleanup } = await makeTempDir();
    try {
      await mkdir(join(folder, 'soak'));
      const soak = join(folder, 'soak', 'soak.test.js'); // CommonJS: the folder has no package.json
      const other = join(folder, 'other.test.mjs');
      await writeFile(other, `import { it } from 'node:test';\nit('passes', () => {});\n`);
      await writeFile(soak, `const { it } = require('node:test');\nit('fails beside the rest', () => { throw new Error('soak failed'); });\n`);
      const failed = await runTests([other, soak], { CI: '' });
      assert.equal(failed.code, 1, failed.stdout);
      assert.deepEqual({ pass: summary(failed.stdout).pass, fail: summary(failed.stdout).fail }, { pass: 1, fail: 1 });
      assert.match(failed.stdout, /# run beside the rest, in a runner of their own: .*soak\.test\.js/);
      assert.match(failed.stdout.trimEnd().split('\n').at(-1)!, /^# duration_ms /);
      await writeFile(soak, `const { it } = require('node:test');\nit('passes beside the rest', () => {});\n`);
      const passed = await runTests([other, soak], { CI: '' });
      assert.equal(passed.code, 0, passed.stdout);
      assert.equal(summary(passed.stdout).pass, 2);
    } finally {
      await cleanup();
    }
  });
});

describe('the suite runner and adb servers', () => {
  it('sees an adb server that is running, so one a test left behind fails the run', async () => {
    const { adbPids } = (await import(join(ROOT, 'scripts', 'run-tests.js'))) as { adbPids: () => number[] };
    const before = new Set(adbPids());
    const port = String(process.env.ANDROID_ADB_SERVER_PORT);
    const { execFileSync } = await import('node:child_process');
    execFileSync('adb', ['-P', port, 'start-server'], { stdio: 'ignore' });
    try {
      const started = adbPids().filter((pid) => !before.has(pid));
      assert.equal(started.length, 1, `one new adb process: ${started.join(', ')}`);
    } finally {
      execFileSync('adb', ['-P', port, 'kill-server'], { stdio: 'ignore' });
    }
  });

  it('fails the run that left an adb server running, names it and stops it', async () => {
    const { adbPids } = (await import(join(ROOT, 'scripts', 'run-tests.js'))) as { adbPids: () => number[] };
    const { path: folder, cleanup } = await makeTempDir();
    try {
      const [port] = await freePorts(1);
      const leaky = join(folder, 'leaky.test.mjs');
      await writeFile(leaky, `import { execFileSync } from 'node:child_process';\nimport { it } from 'node:test';\nit('starts an adb server and forgets it', () => { execFileSync('adb', ['-P', '${port}', 'start-server'], { stdio: 'ignore' }); });\n`);
      const before = new Set(adbPids());
      const { code, stdout } = await runTests([leaky], { CI: '' });
      assert.equal(code, 1, stdout);
      const named = /^# adb servers left running by the suite \(stopped now\): (\d+)/m.exec(stdout);
      assert.ok(named, stdout);
      assert.ok(!before.has(Number(named[1])), 'the server named is the one the run started');
      assert.equal(summary(stdout).fail, 1, 'counted as a failure');
      assert.equal(await accepts(port!), false, 'and it is stopped');
    } finally {
      await cleanup();
    }
  });

  it("leaves alone a fake device's adb server that this run started while another run was going", async () => {
    // The other run: one test that waits, by files, until this run's server is up, then passes.
    const { path: folder, cleanup } = await makeTempDir();
    const waiting = join(folder, 'waiting');
    const go = join(folder, 'go');
    const other = join(folder, 'other-run.test.mjs');
    await writeFile(
      other,
      `import { existsSync, writeFileSync } from 'node:fs';\nimport { it } from 'node:test';\nit('waits for the other run', async () => { writeFileSync(${JSON.stringify(waiting)}, ''); while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 20)); });\n`,
    );
    let server: PrivateAdbServer | undefined;
    // Outside the suite runner (node --test by hand) this process has no run id: give it one, as the runner would.
    const ownRun = process.env.SONARHOST_TEST_RUN;
    process.env.SONARHOST_TEST_RUN ??= 'this-run';
    try {
      const run = runTests([other], { CI: '' });
      await eventually(() => existsSync(waiting), 'the other run to start its test', 60_000);
      server = await startPrivateAdbServer();
      await writeFile(go, '');
      const { code, stdout } = await run;
      assert.equal(code, 0, stdout);
      assert.doesNotMatch(stdout, /adb servers left running/);
      assert.equal(await accepts(server.port), true, "this run's server still answers after the other run ended");
    } finally {
      if (ownRun === undefined) delete process.env.SONARHOST_TEST_RUN;
      await server?.stop();
      await cleanup();
    }
  });

  it("leaves alone an adb server that another run's test started meanwhile (it is that run's to report)", async () => {
    const { path: folder, cleanup } = await makeTempDir();
    const [port] = await freePorts(1);
    const { execFileSync } = await import('node:child_process');
    try {
      const other = join(folder, 'other-run.test.mjs');
      await writeFile(other, `import { execFileSync } from 'node:child_process';\nimport { it } from 'node:test';\nit('starts an adb server as another run would', () => { execFileSync('adb', ['-P', '${port}', 'start-server'], { stdio: 'ignore', env: { ...process.env, SONARHOST_TEST_RUN: 'another-run' } }); });\n`);
      const { code, stdout } = await runTests([other], { CI: '' });
      assert.equal(code, 0, stdout);
      assert.doesNotMatch(stdout, /adb servers left running/);
      assert.equal(await accepts(port!), true, 'the other run\'s server still runs');
    } finally {
      execFileSync('adb', ['-P', String(port), 'kill-server'], { stdio: 'ignore' });
      await cleanup();
    }
  });
});
