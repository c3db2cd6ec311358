import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FRAME_TYPES, serializeFrameWithLength } from 'rsocket-core';
import { type Frame } from 'rsocket-types';
import { WebSocket } from 'ws';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { ConnectionGate } from '../../src/core/connection-gate.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { SETUP, rawExchange } from '../helpers/raw-rsocket.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withWebSocket } from '../helpers/test-host.js';

/** Each limit is set low here; every test fails if its protection is removed. */
describe('resource limits', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let bystander: FlipperClient;

  const openRaw = async (port: number) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    return socket;
  };
  const closesWithin = (socket: net.Socket, ms: number) =>
    Promise.race([once(socket, 'close').then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, (config) => {
      withWebSocket(config);
      Object.assign(config.limits, {
        maxUnauthenticatedFrameBytes: 8 * 1024,
        maxUnauthenticatedPerSource: 6,
        unauthenticatedLifetimeMs: 1500,
        exchangesPerMinutePerSource: 3,
      });
    });
    bystander = new FlipperClient({
      appId: 'com.example.bystander', appName: 'Bystander', os: 'Linux', device: 'box', stateDir: join(dir, 'bystander', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin()], reconnectMs: 50,
    });
    bystander.start(); // its exchange uses one of the 3 allowed this minute
    await eventually(() => host.registry.list()[0], 'the bystander', 60_000);
  });
  after(async () => {
    // Stop everything even when the check fails (or before() did), or the file hangs until its timeout.
    try {
      const session = host?.registry.list()[0];
      assert.ok(session, 'the bystander is still connected');
      assert.equal(await session.call('demo', 'echo', 'fine'), 'fine');
    } finally {
      await bystander?.stop();
      await host?.stop();
      await cleanup?.();
    }
  });

  it('closes an unauthenticated connection that declares a frame over the limit, without waiting for its bytes', async () => {
    const socket = await openRaw(host.ports.insecure);
    // A well-formed SETUP whose length prefix declares 100 KiB: every other check passes it (it is the
    // first frame, and a SETUP), so only the size guard can close it before its lifetime (1.5 s) runs out.
    const setup = serializeFrameWithLength({ type: FRAME_TYPES.SETUP, flags: 0, streamId: 0, majorVersion: 1, minorVersion: 0, keepAlive: 10_000, lifetime: 60_000, dataMimeType: 'text/plain', metadataMimeType: 'text/plain', data: SETUP({ padding: 'x'.repeat(100 * 1024) }) } as unknown as Frame);
    const declared = setup.readUIntBE(0, 3);
    assert.ok(declared > 100 * 1024 && setup[3 + 4]! >> 2 === FRAME_TYPES.SETUP, 'the test sends what it claims: a SETUP header declaring an oversized frame');
    const refusedBefore = host.container.get(ConnectionGate).refusalCounts.get(`frame of ${declared} bytes over the limit`) ?? 0;
    socket.write(setup.subarray(0, 512));
    assert.equal(await closesWithin(socket, 1000), true);
    assert.equal(host.container.get(ConnectionGate).refusalCounts.get(`frame of ${declared} bytes over the limit`), refusedBefore + 1, 'closed by the size guard');
  });

  it('lets an authenticated app send frames larger than the unauthenticated limit', async () => {
    const big = 'x'.repeat(200 * 1024);
    bystander.send('demo', 'big', { big });
    await eventually(() => host.handler.events.find((e) => e.event.method === 'big'), 'the large event');
  });

  it('keeps at most the per-source limit of unauthenticated loopback connections, closing the oldest for a newcomer', async () => {
    const held = [];
    for (let i = 0; i < 6; i++) held.push(await openRaw(host.ports.insecure));
    const extra = await openRaw(host.ports.insecure);
    assert.equal(await closesWithin(held[0]!, 1000), true, 'the oldest is closed to make room');
    assert.equal(await closesWithin(extra, 200), false, 'the newcomer is admitted');
    assert.equal(await closesWithin(held[1]!, 50), false, 'the others are still open');
    assert.ok(host.container.get(ConnectionGate).unauthenticated <= 6, 'never more than the limit at once');
    assert.ok((host.registry.list().length === 1));
    for (const s of [...held, extra]) s.destroy();
  });

  it('closes a connection that stays unauthenticated too long (a slowloris SETUP)', async () => {
    const socket = await openRaw(host.ports.insecure);
    const setup = serializeFrameWithLength({ type: FRAME_TYPES.SETUP, flags: 0, streamId: 0, majorVersion: 1, minorVersion: 0, keepAlive: 10_000, lifetime: 60_000, dataMimeType: 'text/plain', metadataMimeType: 'text/plain', data: SETUP() } as unknown as Frame);
    socket.write(setup.subarray(0, 10)); // and never the rest
    assert.equal(await closesWithin(socket, 500), false);
    assert.equal(await closesWithin(socket, 3000), true);
  });

  it('limits certificate exchanges per source per minute', async () => {
    const csr = await createCsr('com.example.rate', await generateRsaKeyPair());
    const attempt = () => rawExchange(host.ports.insecure, SETUP(), JSON.stringify({ method: 'signCertificate', csr, destination: '/nonexistent/', medium: 1 })).then(() => 'ok', (e: Error) => e.message);
    // On loopback the budget is per CSR key: this key gets 3 a minute, whoever else exchanges.
    const results = [await attempt(), await attempt(), await attempt(), await attempt()];
    assert.doesNotMatch(results[0]!, /Too many/);
    assert.match(results.at(-1)!, /Too many certificate exchanges/);
  });

  it('closes a WebSocket exchange connection that sends a message over the limit', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${host.wsPorts.insecure}?os=Linux&device=d&app=Big&device_id=unknown`);
    await once(socket, 'open');
    socket.send('x'.repeat(20 * 1024));
    const [code] = (await once(socket, 'close')) as [number];
    assert.equal(code, 1009);
  });

  it('counts TLS refusals and logs them once per source, not once per attempt', async () => {
    const attempts = 4;
    for (let i = 0; i < attempts; i++) {
      const socket = tls.connect({ host: '127.0.0.1', port: host.ports.secure, rejectUnauthorized: false });
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.on('close', resolve));
    }
    const gate = host.container.get(ConnectionGate);
    const tlsRefusals = [...gate.refusalCounts.entries()].filter(([reason]) => reason.startsWith('TLS:')).reduce((n, [, count]) => n + count, 0);
    assert.ok(tlsRefusals >= attempts, `counted ${tlsRefusals}`);
    const lines = host.logger.records.filter((r) => r.message.startsWith('refused') && r.fields.source === '127.0.0.1');
    assert.ok(lines.length <= 1, `logged ${lines.length} times`);
  });
});
