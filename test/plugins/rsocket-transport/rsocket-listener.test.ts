import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, afterEach, describe, it, mock } from 'node:test';
import fc from 'fast-check';
import { deserializeFrames } from 'rsocket-core';
import { type Frame } from 'rsocket-types';
import { ConnectionGate } from '../../../src/core/connection-gate.js';
import { RSocketListener } from '../../../src/plugins/rsocket-transport/rsocket-listener.js';
import { MemoryLogger, testConfig } from '../../helpers/fakes.js';
import { checkProperty, fuzzParameters, within } from '../../helpers/fuzz-harness.js';
import { FLAG, TYPE, encodeFrame, requestFrame, setupFrame, splitAt } from '../../helpers/fuzz-wire.js';

/**
 * sonarhost's own server side of RSocket (RSocketListener and RSocketServerConnection) below the
 * transport service: keepalive deadlines on a fake clock, and frames cut anywhere by the network.
 * The responder echoes each request's data.
 */

/** A raw app on a real loopback socket: what it wrote, the frames it got back, and whether the host closed. */
class RawApp {
  readonly frames: Frame[] = [];
  closed = false;
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  constructor(readonly socket: net.Socket) {
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      const [frames, rest] = deserializeFrames(this.buffer);
      this.buffer = rest;
      this.frames.push(...frames);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async connect(port: number): Promise<RawApp> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    return new RawApp(socket);
  }

  /** Resolves once `done` holds (checked at every frame and at the close); a failure, not a wait, after 20 s. */
  until(done: () => boolean, what: string): Promise<void> {
    return within(new Promise((resolve, reject) => {
      const check = () => {
        if (done()) return resolve();
        if (this.closed) return reject(new Error(`the host closed the connection before ${what}; frames: ${JSON.stringify(this.frames)}`));
        this.waiters.push(check);
      };
      check();
    }), 20_000, what);
  }

  /** Sends a request-response and waits for its answer (the connection is alive and served). */
  async probe(streamId: number): Promise<string> {
    this.socket.write(requestFrame('response', streamId, `probe ${streamId}`));
    await this.until(() => this.frames.some((f) => f.streamId === streamId), `the answer to probe ${streamId}`);
    return String((this.frames.find((f) => f.streamId === streamId) as { data?: unknown }).data);
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

async function startListener(): Promise<{ listener: RSocketListener; port: number; gate: ConnectionGate }> {
  const config = testConfig();
  const gate = new ConnectionGate(config, new MemoryLogger());
  const listener = new RSocketListener((onSocket) => net.createServer(onSocket), {
    gate,
    listener: 'test',
    limits: config.limits,
    log: new MemoryLogger(),
    accept: () => ({ requestResponse: async (data) => data }),
  });
  const { port } = await listener.listen(0, '127.0.0.1');
  return { listener, port, gate };
}

describe('RSocketListener', () => {
  const apps: RawApp[] = [];
  const listeners: RSocketListener[] = [];
  afterEach(() => {
    mock.timers.reset();
    for (const app of apps.splice(0)) app.socket.destroy();
    for (const listener of listeners.splice(0)) listener.stop();
  });
  after(() => mock.timers.reset());

  it('ends a connection whose app sends no KEEPALIVE within its SETUP lifetime, and only then', async () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
    const { listener, port } = await startListener();
    listeners.push(listener);
    const app = await RawApp.connect(port);
    apps.push(app);
    app.socket.write(setupFrame({ data: '{}', lifetime: 5_000 }));
    assert.equal(await app.probe(1), 'probe 1');

    mock.timers.tick(4_000);
    assert.equal(await app.probe(3), 'probe 3', 'closed before its lifetime ran out');
    // A KEEPALIVE (respond flag) is echoed without the flag and moves the deadline to 4 s + 5 s.
    app.socket.write(encodeFrame({ type: TYPE.KEEPALIVE, flags: FLAG.RESPOND, streamId: 0, body: Buffer.concat([Buffer.alloc(8), Buffer.from('ka')]) }));
    await app.until(() => app.frames.some((f) => f.type === TYPE.KEEPALIVE), 'the KEEPALIVE echo');
    const echo = app.frames.find((f) => f.type === TYPE.KEEPALIVE)!;
    assert.equal(echo.flags & FLAG.RESPOND, 0);
    assert.equal(String((echo as { data?: unknown }).data), 'ka');

    mock.timers.tick(4_000); // 8 s: 4 s after the KEEPALIVE
    assert.equal(await app.probe(5), 'probe 5', 'the KEEPALIVE did not extend the deadline');

    mock.timers.tick(2_000); // 10 s: 6 s after the KEEPALIVE
    await app.until(() => app.closed, 'the close');
    const error = app.frames.find((f) => f.type === TYPE.ERROR) as { message?: string; streamId: number } | undefined;
    assert.ok(error, 'no ERROR frame before the close');
    assert.equal(error.streamId, 0);
    assert.match(error.message ?? '', /No KEEPALIVE within the SETUP's max lifetime of 5000 ms/);
  });

  it('answers requests whatever the network cut their frames into, one byte to whole', async () => {
    const { listener, port } = await startListener();
    listeners.push(listener);
    await checkProperty(
      fc.asyncProperty(fc.string({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 40 }), async (data, cuts) => {
        const app = await RawApp.connect(port);
        apps.push(app);
        const bytes = Buffer.concat([setupFrame({ data: '{}' }), requestFrame('response', 1, data), requestFrame('response', 3, data.slice(0, 7))]);
        for (const piece of splitAt(bytes, cuts)) {
          app.socket.write(piece);
          // Each piece its own TCP segment, as far as loopback allows: the host must see the cuts.
          await new Promise((resolve) => setImmediate(resolve));
        }
        await app.until(() => app.frames.filter((f) => f.type === TYPE.PAYLOAD).length === 2, 'both answers');
        const answers = new Map(app.frames.map((f) => [f.streamId, String((f as { data?: unknown }).data ?? '')]));
        assert.equal(answers.get(1), data);
        assert.equal(answers.get(3), data.slice(0, 7));
        app.socket.destroy();
      }),
      fuzzParameters(40, 30_000),
    );
  });

  it('disconnects an app that keeps asking for KEEPALIVE echoes but never reads them, instead of buffering them all', async () => {
    const { listener, port, gate } = await startListener();
    listeners.push(listener);
    const refused = new Promise<string>((resolve) => {
      const refuse = gate.refuse.bind(gate);
      gate.refuse = (source, reason) => {
        refuse(source, reason);
        resolve(reason);
      };
    });
    const app = await RawApp.connect(port);
    apps.push(app);
    app.socket.write(setupFrame({ data: '{}' }));
    assert.equal(await app.probe(1), 'probe 1');
    app.socket.pause(); // reads nothing more: the host's echoes pile up in the kernel, then in the host
    // 60 KB echoes (under the 64 KiB unauthenticated frame limit) until the host gives up on the app; the
    // kernel's loopback buffers take some megabytes first, so the bound is on what was sent, not on time.
    const keepalive = encodeFrame({ type: TYPE.KEEPALIVE, flags: FLAG.RESPOND, streamId: 0, body: Buffer.concat([Buffer.alloc(8), Buffer.alloc(60_000, 0x61)]) });
    let outcome: string | undefined;
    void refused.then((reason) => (outcome = reason));
    let sent = 0;
    while (outcome === undefined && sent < 200_000_000 && !app.socket.destroyed) {
      if (!app.socket.write(keepalive)) await new Promise((resolve) => app.socket.once('drain', resolve).once('close', resolve));
      sent += keepalive.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const reason = await within(refused, 20_000, 'the host to refuse an app that does not read');
    assert.match(reason, /^the app stopped reading: \d+ bytes of the host's frames unread$/);
    assert.ok(sent < 100_000_000, `the host buffered echoes of ${sent} bytes before refusing`);
  });

  it('refuses what the Flipper protocol does not use with an ERROR frame that says so: leases, RESUME, streams and channels', async () => {
    const { listener, port } = await startListener();
    listeners.push(listener);
    const errorOf = (app: RawApp, streamId: number) => app.frames.find((f) => f.type === TYPE.ERROR && f.streamId === streamId) as { message?: string; code?: number } | undefined;

    const leasing = await RawApp.connect(port);
    apps.push(leasing);
    leasing.socket.write(setupFrame({ data: '{}', flags: FLAG.LEASE }));
    await leasing.until(() => leasing.closed, 'the close after a SETUP with LEASE');
    assert.match(errorOf(leasing, 0)?.message ?? '', /does not support leases/);
    assert.equal(errorOf(leasing, 0)?.code, 0x0001); // INVALID_SETUP

    const resuming = await RawApp.connect(port);
    apps.push(resuming);
    resuming.socket.write(encodeFrame({ type: TYPE.RESUME, flags: 0, streamId: 0, body: Buffer.alloc(30) }));
    await resuming.until(() => resuming.closed, 'the close after a RESUME');
    assert.equal(errorOf(resuming, 0)?.code, 0x0004); // REJECTED_RESUME

    const app = await RawApp.connect(port);
    apps.push(app);
    app.socket.write(setupFrame({ data: '{}' }));
    const requestN = Buffer.alloc(4);
    requestN.writeUInt32BE(1);
    app.socket.write(encodeFrame({ type: TYPE.REQUEST_STREAM, flags: 0, streamId: 1, body: Buffer.concat([requestN, Buffer.from('s')]) }));
    app.socket.write(encodeFrame({ type: TYPE.REQUEST_CHANNEL, flags: 0, streamId: 3, body: Buffer.concat([requestN, Buffer.from('c')]) }));
    await app.until(() => errorOf(app, 1) !== undefined && errorOf(app, 3) !== undefined, 'both ERROR frames');
    for (const streamId of [1, 3]) assert.match(errorOf(app, streamId)?.message ?? '', /only REQUEST_RESPONSE and REQUEST_FNF/);
    assert.equal(await app.probe(5), 'probe 5', 'the connection serves on after refusing a stream');
  });
});
