import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { chooseCliEntry } from '../../src/cli/start-entry.js';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { freePorts } from '../helpers/free-ports.js';
import { writeIsolatedConfig } from '../helpers/host-config-file.js';
import { CLI_PATH } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

describe('the start-up bundle', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ path: dir, cleanup } = await makeTempDir()));
  afterEach(() => cleanup());

  it('is chosen only when it exists, is at least as new as the compiled modules, and SONARHOST_NO_BUNDLE is not 1', async () => {
    const bundle = join(dir, 'bundle.js');
    const modules = join(dir, 'main.js');
    await writeFile(modules, '');
    assert.deepEqual(chooseCliEntry(bundle, modules, {}), { file: modules, build: 'modules', reason: 'no start-up bundle (npm run build writes it)' });
    await writeFile(bundle, '');
    const t = new Date('2026-01-01T00:00:00Z');
    await utimes(modules, t, t);
    await utimes(bundle, t, t); // npm pack gives every file the same time: equal counts as current
    assert.equal(chooseCliEntry(bundle, modules, {}).build, 'bundle');
    assert.equal(chooseCliEntry(bundle, modules, {}).file, bundle);
    assert.deepEqual(chooseCliEntry(bundle, modules, { SONARHOST_NO_BUNDLE: '1' }), { file: modules, build: 'modules', reason: 'SONARHOST_NO_BUNDLE=1' });
    await utimes(modules, t, new Date(t.getTime() + 1000)); // tsc ran after the bundling
    const stale = chooseCliEntry(bundle, modules, {});
    assert.equal(stale.file, modules);
    assert.match(stale.reason, /older than the compiled modules/);
  });

  for (const build of ['bundle', 'modules'] as const) {
    it(`\`sonarhost start\` from the ${build} makes its certificates, serves an app, logs which build it is, never loads @peculiar/x509, and ${build === 'bundle' ? 'loads no inversify module file' : 'loads inversify from node_modules'}`, async () => {
      // A module hook in the child lists every file it loads: the bundle's point is that inversify's
      // some 240 ES modules are not among them.
      const loaded = join(dir, 'loaded.txt');
      const hooks = join(dir, 'hooks.mjs');
      await writeFile(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(loaded)}, url + '\\n'); return next(url, context); }\n`);
      const register = join(dir, 'register.mjs');
      await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
      const [insecure, secure] = await freePorts(2);
      const config = await writeIsolatedConfig(dir, { insecure: insecure!, secure: secure! });
      const env = { ...process.env, SONARHOST_NO_BUNDLE: build === 'modules' ? '1' : '' };
      const host = spawn(process.execPath, ['--import', register, CLI_PATH, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
      let logs = '';
      host.stderr.on('data', (d: Buffer) => (logs += d.toString()));
      const exited = once(host, 'exit');
      const client = new FlipperClient({
        appId: 'com.example.bundle', appName: 'Bundle', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
        host: '127.0.0.1', ports: { insecure: insecure!, secure: secure! }, plugins: [demoPlugin()], reconnectMs: 100,
      });
      try {
        await eventually(() => logs.includes('sonarhost is running') || host.exitCode !== null, `the host to start:\n${logs}`, 30_000);
        const running = logs.split('\n').map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg: string; build?: string }) : undefined)).find((l) => l?.msg.startsWith('sonarhost is running'));
        assert.equal(running?.build, build === 'bundle' ? 'bundle: start-up bundle' : 'modules: SONARHOST_NO_BUNDLE=1', logs);
        const connected = once(client, 'connected');
        client.start();
        await connected;
        const files = (await readFile(loaded, 'utf8')).split('\n');
        const inversify = files.filter((f) => /node_modules\/(inversify|@inversifyjs)\//.test(f));
        // A first run (a fresh certificate folder) and an exchange: the host makes its certificates with
        // its own DER encoding and never loads the X.509 library (some 200 modules).
        assert.deepEqual(files.filter((f) => /node_modules\/@peculiar\//.test(f)), [], 'the host loaded @peculiar/x509');
        if (build === 'bundle') {
          assert.deepEqual(inversify, []);
          assert.ok(files.some((f) => f.includes('/dist/src/bundle/sonarhost.js')), 'the bundle ran');
        } else {
          assert.ok(inversify.length > 100, `inversify's modules loaded one by one (${inversify.length})`);
          assert.ok(!files.some((f) => f.includes('/dist/src/bundle/')), 'the bundle did not run');
        }
      } finally {
        await client.stop();
        host.kill('SIGTERM');
        await exited;
      }
    });
  }
});
