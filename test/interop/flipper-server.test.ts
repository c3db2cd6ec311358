import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { FLIPPER_SERVER_VERSION, type RunningFlipperServer, ensureFlipperServer, startFlipperServer } from '../helpers/flipper-server.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

/**
 * Our client SDK against Flipper's own desktop server: evidence that the client speaks the real
 * protocol, not only the dialect of our host. Outside CI it skips, with the reason printed, when that
 * server cannot be installed or started here; in CI (CI=true) that is a failure: CI installs it.
 */
describe(`the client SDK against flipper-server@${FLIPPER_SERVER_VERSION}`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: RunningFlipperServer | undefined;
  let skipReason: string | undefined;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    try {
      execFileSync('openssl', ['version']);
    } catch {
      skipReason = 'flipper-server needs the openssl binary on PATH';
      return;
    }
    skipReason = await ensureFlipperServer();
    if (skipReason) return;
    try {
      server = await startFlipperServer(join(dir, 'home'));
    } catch (error) {
      skipReason = (error as Error).message;
    }
  });
  after(async () => {
    await server?.stop();
    await cleanup();
  });

  it('completes the certificate exchange and the secure connection', async (t) => {
    if (skipReason) {
      if (process.env.CI === 'true') assert.fail(`flipper-server interop could not run in CI: ${skipReason}`);
      console.log(`# SKIP flipper-server interop: ${skipReason}`);
      t.skip(skipReason);
      return;
    }
    const client = new FlipperClient({
      appId: 'com.example.interop',
      appName: 'Interop',
      os: 'MacOS',
      device: 'sonarhost-test',
      stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1',
      ports: server!.ports,
      plugins: [demoPlugin()],
      reconnectMs: 200,
    });
    const problems: string[] = [];
    client.on('problem', (m: string) => problems.push(m));
    try {
      const exchanged = new Promise<{ deviceId: unknown }>((resolve) => client.once('exchanged', resolve));
      client.start();
      assert.deepEqual(await exchanged, { deviceId: '' });
      await eventually(() => client.currentState === 'connected', 'the secure connection', 20_000);
      await eventually(() => server!.output().includes('Connection established: Interop'), 'flipper-server to log the connection', 20_000);
      // It stays connected: no refusal, no failed attempts.
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(client.currentState, 'connected', problems.join('\n'));
      assert.equal(client.exchanges, 1);
    } finally {
      await client.stop();
    }
  });
});
