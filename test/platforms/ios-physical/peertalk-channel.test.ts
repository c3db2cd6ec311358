import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { PeertalkChannel } from '../../../src/platforms/ios-physical/peertalk-channel.js';
import { MemoryLogger } from '../../helpers/fakes.js';
import { eventually } from '../../helpers/test-host.js';

/** The phone's end of a Peertalk channel, in memory: what the test pushes is what the forwarder reads. */
class PhoneEnd extends Duplex {
  readonly received: Buffer[] = [];
  /** While set, writes from the forwarder are held (the USB side is slow). */
  hold = false;
  private held: Array<() => void> = [];
  constructor() {
    super({ readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.received.push(chunk);
    if (this.hold) this.held.push(callback);
    else callback();
  }
  release(): void {
    this.hold = false;
    for (const callback of this.held.splice(0)) callback();
  }
  frame(type: number, tag: number, payload: Buffer = Buffer.alloc(0), version = 1): boolean {
    const header = Buffer.alloc(16);
    header.writeUInt32BE(version, 0);
    header.writeUInt32BE(type, 4);
    header.writeUInt32BE(tag, 8);
    header.writeUInt32BE(payload.length, 12);
    return this.push(Buffer.concat([header, payload]));
  }
  /** Data the forwarder sent back for a tag, and whether it closed the pipe. */
  fromHost(tag: number): { data: Buffer; closed: boolean } {
    let all = Buffer.concat(this.received);
    const data: Buffer[] = [];
    let closed = false;
    while (all.length >= 16) {
      const size = all.readUInt32BE(12);
      if (all.readUInt32BE(8) === tag) {
        if (all.readUInt32BE(4) === 202) data.push(all.subarray(16, 16 + size));
        if (all.readUInt32BE(4) === 203) closed = true;
      }
      all = all.subarray(16 + size);
    }
    return { data: Buffer.concat(data), closed };
  }
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('a Peertalk channel to the host', () => {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** The host's listener: records each connection. */
  const hostListener = async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => sockets.push(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return { port: (server.address() as net.AddressInfo).port, sockets };
  };
  const channelTo = (port: number) => {
    const phone = new PhoneEnd();
    const channel = new PeertalkChannel(phone, { host: '127.0.0.1', port }, new MemoryLogger());
    cleanups.push(() => channel.close());
    return { phone, channel };
  };

  it('carries bytes untouched both ways per pipe, across frame and chunk boundaries, and closes pipes either way', async () => {
    const host = await hostListener();
    const { phone } = channelTo(host.port);
    const upstream = randomBytes(300_000);
    phone.frame(201, 7);
    // Split into frames of odd sizes, each header itself split across pushes.
    for (let offset = 0; offset < upstream.length; offset += 9_999) {
      const payload = upstream.subarray(offset, offset + 9_999);
      const header = Buffer.alloc(16);
      header.writeUInt32BE(1, 0);
      header.writeUInt32BE(202, 4);
      header.writeUInt32BE(7, 8);
      header.writeUInt32BE(payload.length, 12);
      phone.push(header.subarray(0, 5));
      phone.push(Buffer.concat([header.subarray(5), payload.subarray(0, 3)]));
      phone.push(payload.subarray(3));
    }
    const local = await eventually(() => host.sockets[0], 'the pipe to reach the host');
    const got: Buffer[] = [];
    local.on('data', (d: Buffer) => got.push(d));
    await eventually(() => Buffer.concat(got).length === upstream.length, 'all bytes to reach the host');
    assert.equal(sha(Buffer.concat(got)), sha(upstream));

    const downstream = randomBytes(200_000);
    local.write(downstream);
    await eventually(() => phone.fromHost(7).data.length === downstream.length, 'all bytes to reach the phone');
    assert.equal(sha(phone.fromHost(7).data), sha(downstream));

    // The phone closes pipe 7: the host sees the end. The host closes pipe 8: the phone gets 203.
    const ended = once(local, 'end');
    phone.frame(203, 7);
    await ended;
    phone.frame(201, 8);
    const second = await eventually(() => host.sockets[1], 'the second pipe');
    second.destroy();
    await eventually(() => phone.fromHost(8).closed, 'a 203 for pipe 8');
    assert.equal(phone.fromHost(7).closed, false, 'no 203 echoed for a pipe the phone closed');
  });

  it('stops reading the channel while the host does not read (bounded buffers), then delivers everything', async () => {
    const host = await hostListener();
    const { phone } = channelTo(host.port);
    phone.frame(201, 1);
    const local = await eventually(() => host.sockets[0], 'the pipe to reach the host');
    local.pause(); // the host is busy: nothing is read on its side

    // Push until the channel refuses more; without backpressure the forwarder would swallow it all.
    const sent: Buffer[] = [];
    const chunk = randomBytes(64 * 1024);
    let total = 0;
    const limit = 128 * 1024 * 1024;
    while (total < limit) {
      sent.push(chunk);
      total += chunk.length;
      if (!phone.frame(202, 1, chunk)) {
        // push() said "full"; give the forwarder a moment, then see whether it stays full.
        await new Promise((resolve) => setTimeout(resolve, 200));
        if (phone.readableLength > 0 && phone.isPaused()) break;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(total < limit, `the forwarder kept reading ${total} bytes the host did not take`);
    assert.ok(phone.isPaused(), 'the channel is paused');

    let received = 0;
    const hash = createHash('sha256');
    local.on('data', (d: Buffer) => {
      received += d.length;
      hash.update(d);
    });
    local.resume();
    await eventually(() => received === total, `all ${total} bytes to reach the host`, 60_000);
    assert.equal(hash.digest('hex'), sha(Buffer.concat(sent)));
    assert.equal(phone.isPaused(), false, 'the channel reads again');
  });

  it('pauses the host side while the phone side cannot take more', async () => {
    const host = await hostListener();
    const { phone } = channelTo(host.port);
    phone.hold = true;
    phone.frame(201, 3);
    const local = await eventually(() => host.sockets[0], 'the pipe to reach the host');
    const data = randomBytes(8 * 1024 * 1024);
    local.write(data);
    // The forwarder writes into the held channel until it is full, then stops reading the host.
    await eventually(() => phone.received.length > 0, 'the first bytes to reach the channel');
    await new Promise((resolve) => setTimeout(resolve, 500));
    // What the forwarder queued for the phone stays near the channel's high-water mark.
    assert.ok(phone.writableLength < 1024 * 1024, `the forwarder queued ${phone.writableLength} of ${data.length} bytes while the phone took none`);
    phone.release();
    const drain = setInterval(() => phone.release(), 10);
    cleanups.push(() => clearInterval(drain));
    await eventually(() => phone.fromHost(3).data.length === data.length, 'everything to reach the phone', 60_000);
    assert.equal(sha(phone.fromHost(3).data), sha(data));
  });

  it('carries at most 64 pipes at once and refuses more with a close', async () => {
    const host = await hostListener();
    const { phone, channel } = channelTo(host.port);
    for (let tag = 1; tag <= 65; tag++) phone.frame(201, tag);
    await eventually(() => phone.fromHost(65).closed, 'the 65th pipe to be refused');
    assert.equal(channel.pipeCount, 64);
    assert.equal(phone.fromHost(64).closed, false);
    await eventually(() => host.sockets.length === 64, 'the 64 pipes to reach the host');
  });

  it('ends the channel and every pipe on a frame with another version', async () => {
    const host = await hostListener();
    const { phone, channel } = channelTo(host.port);
    phone.frame(201, 1);
    const local = await eventually(() => host.sockets[0], 'the pipe to reach the host');
    const closed = once(local, 'close');
    phone.frame(202, 1, Buffer.from('x'), 2);
    await channel.closed;
    await closed;
    assert.equal(channel.pipeCount, 0);
  });
});
