import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { freePorts } from '../helpers/free-ports.js';
import { writeIsolatedConfig } from '../helpers/host-config-file.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** Every command that only looks or talks to a running host, with the arguments it needs. */
const DIAGNOSTICS: string[][] = [['doctor'], ['devices'], ['certs'], ['config'], ['status'], ['clients'], ['call', 'SomeApp', 'getPlugins'], ['events']];

/**
 * A cloned repository with hostile files (issue 22): its sonarhost.config.json names a path plugin
 * whose module, when imported, writes a marker file. Running a diagnostic in that folder must never
 * import it; naming the config with --config or SONARHOST_CONFIG may, and says so.
 */
describe('diagnostics in a working folder whose config names plugin modules', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let marker: string;
  let config: string;
  const env = { SONARHOST_CONFIG: '', SONARHOST_CERT_DIR: '', HOME: '' };

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-foreign-'));
    marker = join(dir, 'the-plugin-ran');
    const [insecure, secure] = await freePorts(2);
    env.HOME = dir;
    config = await writeIsolatedConfig(dir, { insecure: insecure!, secure: secure! }, { plugins: { deviceTransports: ['desktop', './evil-plugin.js'], connectionHandlers: ['event-log', './evil-plugin.js'] } });
    await writeFile(join(dir, 'evil-plugin.js'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'imported');\nexport default {};\n`);
  });
  afterEach(() => rm(marker, { force: true }));
  after(() => cleanup());

  for (const args of DIAGNOSTICS) {
    it(`sonarhost ${args[0]} does not import them from the implicit ./sonarhost.config.json`, async () => {
      const result = await runCli(args, { cwd: dir, env, timeoutMs: 20_000 });
      assert.ok(!existsSync(marker), `sonarhost ${args.join(' ')} imported the plugin module (exit ${result.code}):\n${result.stderr}`);
      assert.notEqual(result.code, null);
    });
  }

  it('doctor, devices and certs say which modules they leave out, and how to load them', async () => {
    for (const command of ['doctor', 'devices', 'certs']) {
      const result = await runCli([command], { cwd: dir, env, timeoutMs: 20_000 });
      assert.match(result.stderr, new RegExp(`sonarhost ${command}: not loading the plugin modules named by ${config}.*evil-plugin\\.js.*--config`), result.stderr);
    }
  });

  for (const [how, args, extraEnv] of [
    ['--config', ['--config', 'sonarhost.config.json'], {}],
    ['SONARHOST_CONFIG', [], { SONARHOST_CONFIG: 'sonarhost.config.json' }],
  ] as const) {
    it(`doctor, devices and certs load them when the config is named with ${how}, and say so on one line`, async () => {
      for (const command of ['doctor', 'devices', 'certs']) {
        await rm(marker, { force: true });
        const result = await runCli([command, ...args], { cwd: dir, env: { ...env, ...extraEnv }, timeoutMs: 20_000 });
        const line = result.stderr.split('\n').find((l) => l.startsWith(`sonarhost ${command}: loading the plugin modules named by ${config}:`));
        assert.ok(line, `no line naming the file and its modules:\n${result.stderr}`);
        assert.match(line, /plugins\.deviceTransports\[1\] = \S*evil-plugin\.js/);
        assert.ok(existsSync(marker), `${command} with ${how} was expected to load the module`);
      }
    });
  }

  it('start logs each plugin module file before it loads it', async () => {
    const result = await runCli(['start', '--log-level', 'info'], { cwd: dir, env, timeoutMs: 20_000 });
    const loading = result.stderr.split('\n').filter((l) => l.includes('"msg":"loading a plugin module"'));
    assert.ok(loading.length > 0 && loading[0]!.includes(join(dir, 'evil-plugin.js')), result.stderr);
    assert.equal(result.code, 1, 'the module exports no descriptor: start refuses it');
  });
});
