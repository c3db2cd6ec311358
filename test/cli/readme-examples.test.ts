import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost, withApi } from '../helpers/test-host.js';

const DEMO = fileURLToPath(new URL('../../examples/demo-app.js', import.meta.url));
const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

/** The words of one shell command line as sh would split them (quotes, no expansions), up to a `#` comment. */
function shellWords(line: string): { words: string[]; comment: string } {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      assert.ok(end > i, `unbalanced quote in README line: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === ' ') {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === '#' && word === undefined) {
      return { words, comment: line.slice(i + 1).trim() };
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return { words, comment: '' };
}

/** README's example lines for `sonarhost call` and `sonarhost clients` (not the synopsis lines with <arg> and [--option]). */
async function readmeExamples(): Promise<Array<{ line: string; words: string[]; comment: string }>> {
  const text = await readFile(README, 'utf8');
  const blocks = text.split('```').filter((_, i) => i % 2 === 1);
  return blocks
    .flatMap((block) => block.split('\n'))
    .map((line) => line.trim())
    .filter((line) => /^sonarhost (call|clients)\b/.test(line) && !/<\w|\[--/.test(line))
    .map((line) => ({ line, ...shellWords(line) }));
}

/** Issue 23, item 3: README's `clients` and `call` examples, run as written against the demo app. */
describe("README's call and clients examples", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let run = 0;

  /** A fresh run of the demo app (a new connection: no plugin inited), stopped when `work` is done. */
  const withDemo = async (work: () => Promise<void>) => {
    const demo = spawn(process.execPath, [DEMO, '--ports', `${host.ports.insecure},${host.ports.secure}`, '--state-dir', join(dir, `demo-${++run}`, 'sonar')], { stdio: 'ignore' });
    try {
      await eventually(() => onlyClient(host.registry), 'the demo app to connect');
      await work();
    } finally {
      demo.kill('SIGTERM');
      if (demo.exitCode === null) await once(demo, 'exit');
      await eventually(() => host.registry.list().length === 0, 'the demo app to disconnect');
    }
  };

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withApi);
  });
  after(async () => {
    await host.stop();
    await cleanup();
  });

  it('work against the demo app (one calls a plugin that is not in the background, and call inits it)', () =>
    withDemo(async () => {
      const examples = await readmeExamples();
      assert.ok(examples.filter((e) => e.words[1] === 'call').length >= 2, `README shows calls to the demo: ${JSON.stringify(examples.map((e) => e.line))}`);
      assert.ok(examples.some((e) => e.words[1] === 'clients'), 'README shows the CI recipe with clients');
      let initSaid = false;
      for (const example of examples) {
        assert.equal(example.words[0], 'sonarhost');
        const result = await runCli([...example.words.slice(1), '--cert-dir', host.config.certDir], { cwd: dir, timeoutMs: 90_000 });
        assert.equal(result.code, 0, `README's "${example.line}" failed (${result.code}):\n${result.stderr}`);
        // A comment that shows the answer ("...JSON: {...}") must show it as it is.
        const shown = /JSON: (\{.*\})$/.exec(example.comment)?.[1];
        if (shown !== undefined) assert.deepEqual(JSON.parse(result.stdout), JSON.parse(shown), example.line);
        if (example.words[1] === 'clients') assert.match(result.stdout, /sonarhost demo/);
        if (example.words.includes('--verbose') && /plugin "greeter" is not connected .*sending its init/.test(result.stderr)) initSaid = true;
      }
      assert.ok(initSaid, 'one example calls a plugin that is not in the background with --verbose, and call says it sends init');
    }));

  it('call inits a plugin the app answers ConnectionNotFound for, and says nothing of it without --verbose', () =>
    withDemo(async () => {
      const cli = (...args: string[]) => runCli([...args, '--cert-dir', host.config.certDir], { cwd: dir });
      // The bare protocol method is sent as it is: the app says the plugin is not connected.
      const bare = await cli('call', 'sonarhost demo', 'execute', '{"api":"greeter","method":"hello","params":{"name":"x"}}');
      assert.equal(bare.code, 1, bare.stderr);
      assert.match(bare.stderr, /ConnectionNotFound/);
      const result = await cli('call', 'sonarhost demo', 'greeter.hello', '{"name":"quiet"}');
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { greeting: 'hello, quiet' });
      assert.equal(result.stderr, '');
      const help = await cli('call', '--help');
      assert.match(help.stdout, /--verbose/);
      assert.match(help.stdout, /sends the plugin's "init"/);
    }));

  it("README's curl examples of the HTTP API work against the demo app (placeholders: the port, the token, the short id)", () =>
    withDemo(async () => {
      const text = await readFile(README, 'utf8');
      const lines = text.split('```').filter((_, i) => i % 2 === 1).join('\n').replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim());
      const curls = lines.filter((l) => l.startsWith('curl ') && l.includes('127.0.0.1:8090'));
      assert.ok(curls.some((l) => l.includes('/call')), `README shows a call through the HTTP API: ${JSON.stringify(curls)}`);
      const token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
      const shortId = (await (await fetch(`http://127.0.0.1:${host.apiPort}/api/clients`, { headers: { authorization: `Bearer ${token}` } })).json() as Array<{ shortId: string }>)[0]!.shortId;
      for (const line of curls) {
        const { words } = shellWords(line);
        const option = (name: string) => words[words.indexOf(name) + 1];
        const url = words.find((w) => w.startsWith('http://'))!.replace('127.0.0.1:8090', `127.0.0.1:${host.apiPort}`).replace('/a1b2c3d4/', `/${shortId}/`);
        const body = words.includes('-d') ? option('-d') : undefined;
        const response = await fetch(url, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { authorization: option('-H')!.replace(/^Authorization: /, '').replace('$TOKEN', token) },
          body,
        });
        const answer = await response.text();
        assert.equal(response.status, 200, `README's "${line}" answered ${response.status}: ${answer}`);
        if (url.endsWith('/call')) assert.deepEqual(JSON.parse(answer), { success: { sum: 3 } }, line);
      }
    }));
});
