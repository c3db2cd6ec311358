import * as net from 'node:net';
import * as tls from 'node:tls';
import fc from 'fast-check';
import { FRAME_TYPES, deserializeFrames } from 'rsocket-core';
import { type Frame } from 'rsocket-types';

/**
 * RSocket frames at the byte level, as a misbehaving app could send them (any type, flags, stream id
 * and declared length), and a raw conversation with a port: write bytes, read the host's frames,
 * and report whether it answered, closed, or did neither in time.
 */
export const TYPE = FRAME_TYPES;
export const FLAG = { IGNORE: 0x200, METADATA: 0x100, FOLLOWS: 0x80, RESUME_ENABLE: 0x80, LEASE: 0x40, RESPOND: 0x80, COMPLETE: 0x40, NEXT: 0x20 };

export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  body: Uint8Array;
  /** The 24-bit length prefix; defaults to the true length (6 header bytes + body). */
  declaredLength?: number;
}

export function encodeFrame(frame: RawFrame): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE((frame.declaredLength ?? 6 + frame.body.length) & 0xffffff, 0, 3);
  header.writeUInt32BE(frame.streamId >>> 0, 3);
  header.writeUInt16BE(((frame.type & 0x3f) << 10) | (frame.flags & 0x3ff), 7);
  return Buffer.concat([header, frame.body]);
}

const u8 = (n: number) => Buffer.from([n & 0xff]);
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
};
const u24 = (n: number) => {
  const b = Buffer.alloc(3);
  b.writeUIntBE(n & 0xffffff, 0, 3);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** Metadata (with its 24-bit length when the METADATA flag is set) followed by data. */
export function payloadBody(data: string | Uint8Array | undefined, metadata?: string | Uint8Array): Buffer {
  const parts: Buffer[] = [];
  if (metadata !== undefined) {
    const m = Buffer.from(metadata);
    parts.push(u24(m.length), m);
  }
  if (data !== undefined) parts.push(Buffer.from(data));
  return Buffer.concat(parts);
}

export interface SetupFields {
  flags: number;
  major: number;
  minor: number;
  keepAlive: number;
  lifetime: number;
  resumeToken?: Uint8Array;
  metadataMime: string;
  dataMime: string;
  metadata?: string | Uint8Array;
  data?: string | Uint8Array;
}

export const SANE_SETUP: Omit<SetupFields, 'data'> = { flags: 0, major: 1, minor: 0, keepAlive: 10_000, lifetime: 2_147_483_647, metadataMime: 'text/plain', dataMime: 'text/plain' };

/** A SETUP frame as the spec lays it out; the METADATA and RESUME_ENABLE flags follow the fields given. */
export function setupFrame(fields: Partial<SetupFields> & { data?: string | Uint8Array }): Buffer {
  const f = { ...SANE_SETUP, ...fields };
  let flags = f.flags & ~(FLAG.METADATA | FLAG.RESUME_ENABLE);
  if (f.metadata !== undefined) flags |= FLAG.METADATA;
  if (f.resumeToken !== undefined) flags |= FLAG.RESUME_ENABLE;
  const metadataMime = Buffer.from(f.metadataMime, 'latin1');
  const dataMime = Buffer.from(f.dataMime, 'latin1');
  const body = Buffer.concat([
    u16(f.major),
    u16(f.minor),
    u32(f.keepAlive),
    u32(f.lifetime),
    ...(f.resumeToken !== undefined ? [u16(f.resumeToken.length), Buffer.from(f.resumeToken)] : []),
    u8(metadataMime.length),
    metadataMime,
    u8(dataMime.length),
    dataMime,
    payloadBody(f.data, f.metadata),
  ]);
  return encodeFrame({ type: TYPE.SETUP, flags, streamId: 0, body });
}

export function requestFrame(type: 'response' | 'fnf', streamId: number, data: string | Uint8Array | undefined, metadata?: string | Uint8Array): Buffer {
  return encodeFrame({
    type: type === 'response' ? TYPE.REQUEST_RESPONSE : TYPE.REQUEST_FNF,
    flags: metadata !== undefined ? FLAG.METADATA : 0,
    streamId,
    body: payloadBody(data, metadata),
  });
}

/** A PAYLOAD frame (NEXT|COMPLETE) answering a request of the host on `streamId`. */
export function answerFrame(streamId: number, data: string | Uint8Array): Buffer {
  return encodeFrame({ type: TYPE.PAYLOAD, flags: FLAG.NEXT | FLAG.COMPLETE, streamId, body: payloadBody(data) });
}

/** Stream ids that matter: 0 (connection), small odd/even, the largest, and values with the top bit set. */
export const streamIdArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 5, 0x7fffffff, 0x80000000, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
);

/** Any frame header: every type (including reserved and EXT), any flags, any stream, a random body. */
export const rawFrameArb: fc.Arbitrary<RawFrame> = fc.record({
  type: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 0x0f }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x3f }) }),
  flags: fc.oneof(fc.constantFrom(0, FLAG.METADATA, FLAG.FOLLOWS, FLAG.NEXT | FLAG.COMPLETE, FLAG.IGNORE, 0x3ff), fc.integer({ min: 0, max: 0x3ff })),
  streamId: streamIdArb,
  body: fc.uint8Array({ maxLength: 48 }),
  declaredLength: fc.option(fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 200 }), fc.constantFrom(0xffffff, 0x10000, 0x10001, 0xfffff)), { nil: undefined, freq: 4 }),
});

export interface WireOutcome {
  /** The host closed the connection (or reset it). */
  closed: boolean;
  /** `until` was satisfied before the connection closed. */
  satisfied: boolean;
  frames: Frame[];
  /** Bytes from the host that do not parse as RSocket frames (a host bug if non-empty). */
  unparsable?: string;
  ms: number;
}

export interface Conversation {
  connect: () => net.Socket;
  /** `secureConnect` for TLS. */
  ready: 'connect' | 'secureConnect';
  /** Written in order, each as its own write. */
  chunks: Uint8Array[];
  /** Half-close our side after writing: the host must then close within `waitMs`. */
  end?: boolean;
  /** Stop waiting as soon as the host's frames satisfy this (the bad input was answered). */
  until?: (frames: Frame[]) => boolean;
  waitMs: number;
  /** Called once connected, before anything is written (for example to answer host requests). */
  onFrame?: (frame: Frame, write: (bytes: Buffer) => void) => void;
}

/** Runs one conversation and always destroys the socket before returning. */
export async function converse(c: Conversation): Promise<WireOutcome> {
  const started = Date.now();
  const socket = c.connect();
  socket.setNoDelay(true);
  let buffer: Buffer = Buffer.alloc(0);
  const frames: Frame[] = [];
  let unparsable: string | undefined;
  let closed = false;
  let satisfied = false;
  let wake: () => void = () => undefined;
  const changed = () => wake();
  const socketError = new Promise<Error>((resolve) => socket.once('error', resolve));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    changed();
  });
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    try {
      const [parsed, rest] = deserializeFrames(buffer);
      buffer = rest;
      for (const frame of parsed) {
        frames.push(frame);
        c.onFrame?.(frame, (bytes) => socket.write(bytes));
      }
    } catch (error) {
      unparsable ??= `${(error as Error).message} in ${buffer.subarray(0, 64).toString('hex')}`;
      buffer = Buffer.alloc(0);
    }
    if (c.until?.(frames)) satisfied = true;
    changed();
  });
  try {
    const connected = await Promise.race([
      new Promise<true>((resolve) => socket.once(c.ready, () => resolve(true))),
      socketError.then((error) => error),
      new Promise<Error>((resolve) => setTimeout(() => resolve(new Error('connect timeout')), 5_000).unref()),
    ]);
    if (connected !== true) throw new Error(`could not connect for a fuzz case: ${connected.message}`);
    for (const chunk of c.chunks) {
      if (closed) break;
      socket.write(chunk);
    }
    if (c.end && !closed) socket.end();
    const deadline = started + c.waitMs;
    while (!closed && !satisfied && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(1, deadline - Date.now())).unref();
      });
    }
    return { closed, satisfied, frames, unparsable, ms: Date.now() - started };
  } finally {
    socket.destroy();
    // Let the host see the close now, so what it does about it is attributed to this case.
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export function tcp(port: number): () => net.Socket {
  return () => net.connect({ host: '127.0.0.1', port });
}

export function tlsTo(port: number, material: { key: string; cert: string; ca: string }): () => net.Socket {
  return () => tls.connect({ host: '127.0.0.1', port, key: material.key, cert: material.cert, ca: material.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined });
}

/** Splits bytes at random cut points, so frames straddle TCP writes. */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    if (p > last) chunks.push(bytes.subarray(last, p));
    last = Math.max(last, p);
  }
  if (last < bytes.length) chunks.push(bytes.subarray(last));
  return chunks;
}

export const isError = (frame: Frame, streamId?: number): boolean => frame.type === TYPE.ERROR && (streamId === undefined || frame.streamId === streamId);
export const frameData = (frame: Frame): string => String((frame as { data?: unknown }).data ?? '');
export const errorMessage = (frame: Frame): string => String((frame as { message?: unknown }).message ?? '');
