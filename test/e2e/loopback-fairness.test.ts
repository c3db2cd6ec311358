import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { SETUP, rawExchange } from '../helpers/raw-rsocket.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withWebSocket } from '../helpers/test-host.js';

/**
 * Every app that comes through adb reverse, every simulator and every desktop app arrives from
 * 127.0.0.1. A local process that holds all of that address's unauthenticated slots and spends its
 * exchange budget must not lock the other apps out.
 */
describe('a flooding local process beside a well-behaved app', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  const held: net.Socket[] = [];
  const apps: FlipperClient[] = [];

  const hold = async (port: number) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    held.push(socket);
  };

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, (config) => {
      withWebSocket(config);
      Object.assign(config.limits, { maxUnauthenticatedPerSource: 8, exchangesPerMinutePerSource: 3 });
    });
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    for (const app of apps) await app.stop();
    await host.stop();
    await cleanup();
  });

  for (const transport of ['rsocket', 'websocket'] as const) {
    it(`lets the app exchange and connect over ${transport} while the flooder holds every slot and has spent its exchanges`, async () => {
      const ports = transport === 'rsocket' ? host.ports : { insecure: host.wsPorts.insecure!, secure: host.wsPorts.secure! };
      // The flooder: spends more than its exchange budget with its key, then holds every slot of 127.0.0.1 on both exchange ports.
      const csr = await createCsr('com.example.flooder', await generateRsaKeyPair());
      const refusals = [];
      for (let i = 0; i < 5; i++) {
        refusals.push(await rawExchange(host.ports.insecure, SETUP(), JSON.stringify({ method: 'signCertificate', csr, destination: '/nonexistent/', medium: 1 })).then(() => '', (e: Error) => e.message));
      }
      assert.match(refusals.at(-1)!, /Too many certificate exchanges/, 'the flooder is limited');
      for (let i = 0; i < 8; i++) await hold(ports.insecure);

      const app = new FlipperClient({
        appId: `com.example.fair.${transport}`, appName: `Fair ${transport}`, os: 'Linux', device: transport, stateDir: join(dir, transport, 'sonar'),
        host: '127.0.0.1', transport, ports, plugins: [demoPlugin()], reconnectMs: 200,
      });
      apps.push(app);
      app.start();
      const session = await eventually(() => host.registry.list().find((s) => s.query.device === transport), `the ${transport} app to register beside the flooder`, 20_000);
      assert.equal(await session.call('demo', 'echo', 'fair'), 'fair');
    });
  }
});
