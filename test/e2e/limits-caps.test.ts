import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { ConnectionGate } from '../../src/core/connection-gate.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withWebSocket } from '../helpers/test-host.js';

/** maxFrameBytes and maxUnauthenticatedConnections, set low: each test fails without its limit. */
describe('the frame limit of registered apps and the global unauthenticated cap', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  const apps: FlipperClient[] = [];

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, (config) => {
      withWebSocket(config);
      Object.assign(config.limits, { maxFrameBytes: 256 * 1024, maxUnauthenticatedConnections: 4 });
    });
  });
  after(async () => {
    for (const app of apps) await app.stop();
    await host.stop();
    await cleanup();
  });

  for (const transport of ['rsocket', 'websocket'] as const) {
    it(`closes a registered ${transport} app's connection when it sends a message over maxFrameBytes`, async () => {
      const ports = transport === 'rsocket' ? host.ports : { insecure: host.wsPorts.insecure!, secure: host.wsPorts.secure! };
      const app = new FlipperClient({
        appId: `com.example.frames.${transport}`, appName: `Frames ${transport}`, os: 'Linux', device: transport, stateDir: join(dir, transport, 'sonar'),
        host: '127.0.0.1', transport, ports, plugins: [demoPlugin()], reconnectMs: 50,
      });
      apps.push(app);
      app.start();
      const session = await eventually(() => host.registry.list().find((s) => s.query.device === transport), `the ${transport} app`);
      await eventually(() => host.handler.events.find((e) => e.client === session.id && e.event.method === 'ready'), 'the demo plugin to be initialised');
      app.send('demo', 'under', { text: 'x'.repeat(128 * 1024) });
      await eventually(() => host.handler.events.find((e) => e.client === session.id && e.event.method === 'under'), 'the message under the limit');
      app.send('demo', 'over', { text: 'x'.repeat(512 * 1024) });
      await eventually(() => session.isClosed, 'the connection to be closed');
      assert.equal(host.handler.events.find((e) => e.client === session.id && e.event.method === 'over'), undefined, 'the oversized message was never delivered');
    });
  }

  it('never holds more than maxUnauthenticatedConnections unauthenticated connections', async () => {
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const socket = net.connect({ host: '127.0.0.1', port: host.ports.insecure });
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      sockets.push(socket);
    }
    const gate = host.container.get(ConnectionGate);
    await eventually(() => sockets.filter((s) => s.destroyed || s.readableEnded).length >= 2 || undefined, 'two connections to be closed', 5_000);
    assert.ok(gate.unauthenticated <= 4, `${gate.unauthenticated} unauthenticated connections held`);
    for (const socket of sockets) socket.destroy();
  });
});
