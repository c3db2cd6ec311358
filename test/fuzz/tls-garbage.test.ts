import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { CertificateExchangeMedium } from '../../src/core/client-query.js';
import { buildWebSocketQuery } from '../../src/core/protocol/websocket-query.js';
import { CrashWatch, checkProperty, fuzzParameters, settle, within } from '../helpers/fuzz-harness.js';
import { type FuzzHost, startFuzzHost, finishFuzzHost } from '../helpers/fuzz-host.js';
import { converse, tcp } from '../helpers/fuzz-wire.js';
import { wsConverse } from '../helpers/fuzz-ws.js';

/** Both secure listeners abandon a TLS handshake after this long (rsocket-transport-service.ts, websocket-transport-service.ts). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const HANDSHAKE = 0x16;

/** The first TLS record a real Node client sends (a ClientHello), captured from a local listener that never answers. */
async function captureClientHello(): Promise<Buffer> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const client = tls.connect({ host: '127.0.0.1', port: (listener.address() as net.AddressInfo).port, rejectUnauthorized: false });
  client.on('error', () => undefined);
  try {
    const [socket] = await within(accepted, 5_000, 'a ClientHello connection');
    let bytes = Buffer.alloc(0);
    for await (const chunk of socket) {
      bytes = Buffer.concat([bytes, chunk as Buffer]);
      if (bytes.length >= 5 && bytes.length >= 5 + bytes.readUInt16BE(3)) break;
    }
    socket.destroy();
    return bytes.subarray(0, 5 + bytes.readUInt16BE(3));
  } finally {
    client.destroy();
    listener.close();
  }
}

function recordHeader(type: number, version: number, length: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(type & 0xff, 0);
  header.writeUInt16BE(version & 0xffff, 1);
  header.writeUInt16BE(length & 0xffff, 3);
  return header;
}

/**
 * Fuzzes the secure ports before the TLS handshake completes: random bytes, TLS record headers that
 * are truncated, of the wrong type or version, or declare more than a record may hold, a real
 * ClientHello cut short or followed by garbage, and a ClientHello with flipped bytes. Every such
 * connection is closed once the peer stops sending (an alert, or the handshake timeout for a
 * handshake that stalls), nothing throws, and a real app with a valid certificate still completes a
 * secure connection on both ports after each property.
 */
describe('fuzz: TLS-record garbage before the handshake on the secure ports (RSocket 8088, WebSocket 9088)', () => {
  const watch = new CrashWatch();
  let host: FuzzHost;
  let clientHello: Buffer;

  before(async () => {
    watch.install();
    host = await startFuzzHost({ bystanders: ['rsocket'] });
    clientHello = await captureClientHello();
  });

  after(() => finishFuzzHost(host, watch));

  /** A real app with the fuzzer's certificate completes TLS on 9088 and is asked for its plugins (8088: checkNewcomers). */
  async function checkSecureWebSocket(what: string): Promise<void> {
    const query = buildWebSocketQuery({ os: 'Linux', device: 'tls-check', app: 'TLS Check', deviceId: 'unknown', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS }, { appId: 'com.example.fuzzer', csr: host.fuzzer.csr, csrPath: host.fuzzer.stateDir });
    const outcome = await wsConverse({ url: `wss://127.0.0.1:${host.wsPorts.secure}/?${query}`, tls: host.fuzzer, messages: [], waitMs: 5_000, until: (received) => received.length > 0 });
    assert.equal(outcome.received[0], '{"id":0,"method":"getPlugins"}', `${what}: a valid app could not connect securely to the WebSocket port: ${JSON.stringify(outcome).slice(0, 300)}`);
  }

  async function afterProperty(what: string): Promise<void> {
    await settle(50);
    watch.assertClean(what);
    await checkSecureWebSocket(what);
    await host.checkNewcomers(what);
    await host.checkBystanders(what);
    await host.checkOnlyBystanders(what);
    watch.assertClean(`${what} (checks)`);
  }

  it('garbage, broken record headers and mangled ClientHellos are closed within the handshake timeout; real apps connect after', async () => {
    const garbage = fc.uint8Array({ maxLength: 128 });
    const payload = fc.oneof(
      { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 512 }).map((b) => Buffer.from(b)) },
      // A record header alone, cut anywhere (1-4 bytes): the host waits for the rest, until a deadline.
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(0x01, 0x03), fc.integer({ min: 1, max: 4 })).map(([minor, n]) => recordHeader(HANDSHAKE, 0x0300 | minor, 512).subarray(0, n)) },
      // Whole headers: any type and version, lengths at and beyond what TLS allows (2^14 + 2048), then a little or no body.
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.oneof(fc.constantFrom(HANDSHAKE, 0x14, 0x15, 0x17, 0x18), fc.integer({ min: 0, max: 255 })), fc.oneof(fc.constantFrom(0x0301, 0x0303, 0x0300, 0x0304, 0x0200, 0xfeff), fc.integer({ min: 0, max: 0xffff })), fc.oneof(fc.constantFrom(0, 1, 4, 16_384, 16_385, 18_432, 18_433, 0xffff), fc.integer({ min: 0, max: 0xffff })), garbage)
          .map(([type, version, length, body]) => Buffer.concat([recordHeader(type, version, length), body])),
      },
      // A real ClientHello cut short, then garbage.
      { weight: 2, arbitrary: fc.tuple(fc.nat(), garbage).map(([cut, rest]) => Buffer.concat([clientHello.subarray(0, 1 + (cut % (clientHello.length - 1))), rest])) },
      // A whole ClientHello, then garbage where the next handshake record should be.
      { weight: 2, arbitrary: fc.tuple(garbage, fc.boolean()).map(([rest, asRecord]) => Buffer.concat([clientHello, asRecord ? recordHeader(HANDSHAKE, 0x0303, rest.length) : Buffer.alloc(0), rest])) },
      // A ClientHello with a few bytes changed (lengths, versions, extensions).
      { weight: 2, arbitrary: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
        const bytes = Buffer.from(clientHello);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        return bytes;
      }) },
    );
    const peer = fc.tuple(fc.constantFrom('rsocket', 'websocket'), payload, fc.boolean());
    await checkProperty(
      // Several peers at once: the ones the host must wait out cost the same time together as alone.
      fc.asyncProperty(fc.array(peer, { minLength: 1, maxLength: 6 }), async (peers) => {
        const outcomes = await Promise.all(
          peers.map(([port, bytes, split]) =>
            converse({
              connect: tcp(port === 'rsocket' ? host.ports.secure : host.wsPorts.secure!), ready: 'connect',
              chunks: split && bytes.length > 1 ? [bytes.subarray(0, bytes.length >> 1), bytes.subarray(bytes.length >> 1)] : [bytes],
              // The peer stops sending: the host must close (a stall without our half-close: the test below).
              end: true, waitMs: HANDSHAKE_TIMEOUT_MS + 2_000,
            }),
          ),
        );
        watch.assertNothingYet();
        outcomes.forEach((outcome, i) => {
          const [port, bytes] = peers[i]!;
          assert.ok(outcome.closed, `the ${port} secure port kept a connection open for ${outcome.ms} ms after ${bytes.length} bytes starting ${bytes.subarray(0, 16).toString('hex')}`);
          assert.equal(outcome.frames.length, 0, `the ${port} secure port answered RSocket frames before any handshake`);
        });
      }),
      fuzzParameters(80, HANDSHAKE_TIMEOUT_MS + 5_000),
    );
    await afterProperty('TLS garbage');
  });

  it('a handshake that stalls (a ClientHello cut short, or whole and never followed) is closed at the handshake timeout on both ports (found by this fuzzer)', async () => {
    // Node's handshakeTimeout only emits tlsClientError; the socket stayed open until the peer left, and
    // before the handshake no admission limit counts it: stalled handshakes piled up without bound.
    const stalls = [clientHello.subarray(0, 10), clientHello];
    const outcomes = await Promise.all(
      [host.ports.secure, host.wsPorts.secure!].flatMap((port) => stalls.map((bytes) => converse({ connect: tcp(port), ready: 'connect', chunks: [bytes], waitMs: HANDSHAKE_TIMEOUT_MS + 5_000 }))),
    );
    watch.assertNothingYet();
    outcomes.forEach((outcome, i) => assert.ok(outcome.closed, `stalled handshake ${i} (${i < 2 ? 'RSocket' : 'WebSocket'}) still open after ${outcome.ms} ms`));
    await afterProperty('stalled handshakes');
  });
});
