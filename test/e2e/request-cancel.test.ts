import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { type AppSession } from '../../src/core/app-session.js';
import { HostError } from '../../src/core/host-error.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withWebSocket } from '../helpers/test-host.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** An app whose `never` method never answers, over a real transport. */
function silentApp(dir: string, host: TestHost, transport: 'rsocket' | 'websocket'): { app: FlipperClient; received: () => number } {
  const plugin = demoPlugin('silent');
  let received = 0;
  plugin.receivers!.never = () => {
    received++;
    return new Promise(() => undefined);
  };
  const ports = transport === 'rsocket' ? host.ports : { insecure: host.wsPorts.insecure!, secure: host.wsPorts.secure! };
  const app = new FlipperClient({
    appId: `com.example.silent.${transport}`, appName: `Silent ${transport}`, os: 'Linux', device: transport, stateDir: join(dir, transport, 'sonar'),
    host: '127.0.0.1', transport, ports, plugins: [plugin], reconnectMs: 50,
  });
  return { app, received: () => received };
}

/**
 * An app that never answers must not grow the host's memory: every request that times out is
 * cancelled in the channel (RSocket sends CANCEL and rsocket-js drops its receiver; WebSocket drops
 * the id), so after thousands of timed-out requests the channel holds nothing and the heap is flat.
 */
describe('requests to an app that never answers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  const apps: FlipperClient[] = [];

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withWebSocket);
  });
  after(async () => {
    for (const app of apps) await app.stop();
    await host.stop();
    await cleanup();
  });

  for (const transport of ['rsocket', 'websocket'] as const) {
    it(`cancels timed-out requests over ${transport}: nothing pending, heap flat after 3000 of them`, async () => {
      const { app, received } = silentApp(dir, host, transport);
      apps.push(app);
      app.start();
      const session: AppSession = await eventually(() => host.registry.list().find((s) => s.query.device === transport), `the ${transport} app to register`);
      await eventually(() => host.handler.events.find((e) => e.client === session.id && e.event.method === 'ready'), 'the silent plugin to be initialised');
      // 16 KiB per request: a host that kept each request would hold ~48 MiB after the run below.
      const blob = 'x'.repeat(16 * 1024);
      const runBatch = async () => {
        const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => session.request('execute', { api: 'silent', method: 'never', params: { i, blob } }, 300).then(() => undefined, (error: unknown) => error)));
        for (const error of results) assert.ok(HostError.is(error, 'timeout'), `expected a timeout, got ${String(error)}`);
        // Once the app has read every request, nothing is in flight in the socket buffers: what the heap keeps is what the host kept.
        sent += 1000;
        await eventually(() => received() === sent, 'the app to receive every request', 30_000);
      };
      let sent = 0;
      await runBatch(); // warms up the code paths, so the heap comparison below measures only what is kept
      const before = heapAfterGc();
      for (let batch = 0; batch < 3; batch++) await runBatch();
      assert.equal(session.pendingRequests, 0, 'the channel holds no entry for a request nobody waits for');
      const grown = heapAfterGc() - before;
      assert.ok(grown < 16 * 1024 * 1024, `the heap grew by ${Math.round(grown / 1024 / 1024)} MiB over 3000 unanswered requests`);
      assert.equal(await session.call('silent', 'echo', 'still here'), 'still here', 'the app is still served');
    });
  }
});
