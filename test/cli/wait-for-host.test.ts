import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, startTestHost, withApi } from '../helpers/test-host.js';

/** README's CI recipe starts the host and the app, then `clients --wait`: the command must not race the host's start. */
describe('clients --wait before the host is up', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost | undefined;
  let app: FlipperClient | undefined;
  before(async () => ({ path: dir, cleanup } = await makeTempDir()));
  after(async () => {
    await app?.stop();
    await host?.stop();
    await cleanup();
  });

  it('waits for the host, then for an app, within one --timeout', async () => {
    const certDir = join(dir, 'certs');
    const waiting = runCli(['clients', '--wait', '--timeout', '120000', '--json', '--cert-dir', certDir], { cwd: dir, timeoutMs: 150_000 });
    // The command is already waiting on a folder that does not even exist yet.
    host = await startTestHost(dir, (config) => {
      withApi(config);
      config.certDir = certDir;
    });
    app = new FlipperClient({
      appId: 'com.example.late.host', appName: 'LateHost', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin()], reconnectMs: 50,
    });
    app.start();
    const result = await waiting;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((JSON.parse(result.stdout) as Array<{ app: string }>).map((c) => c.app), ['LateHost']);
  });

  it('gives up with exit 5 when no host comes up within --timeout', async () => {
    const result = await runCli(['clients', '--wait', '--timeout', '400', '--cert-dir', join(dir, 'never')], { cwd: dir });
    assert.equal(result.code, 5, result.stderr);
    assert.match(result.stderr, /No sonarhost came up for the certificate folder .*never within 400 ms; start one with "sonarhost start"/);
  });

  it('without --wait, a missing host is still exit 3 at once', async () => {
    const result = await runCli(['clients', '--cert-dir', join(dir, 'never')], { cwd: dir });
    assert.equal(result.code, 3, result.stderr);
  });
});
