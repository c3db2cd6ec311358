import type * as net from 'node:net';
import { BufferEncoders, ERROR_CODES, FLAGS, createErrorFromFrame, deserializeFrame, serializeFrameWithLength } from 'rsocket-core';
import { type Frame } from 'rsocket-types';
import { HostError } from '../../core/host-error.js';
import { batchWritesThisTick } from '../../core/write-batching.js';

/** What the app said in its SETUP frame. */
export interface RSocketSetup {
  /** The SETUP data, a JSON text from the Flipper SDKs. */
  data: string;
  /** The SETUP's max lifetime: the connection ends when no KEEPALIVE arrives for this long. */
  lifetimeMs: number;
}

/** What a port does with the app's requests; chosen when its SETUP arrives. */
export interface RSocketResponder {
  /** Answers a REQUEST_RESPONSE; a rejection's message becomes the ERROR frame's text. */
  requestResponse?(data: string): Promise<string>;
  fireAndForget?(data: string): void;
  /** The connection has ended (after our requests still waiting were failed); called once. */
  ended?(): void;
}

/** One listener's rules, shared by all of its connections (nothing per connection but the pointer). */
export interface RSocketPortRules {
  /** The largest frame this connection may send now (smaller until it has authenticated). */
  maxFrameBytes(socket: net.Socket): number;
  /** Makes the responder for a SETUP; throwing rejects the SETUP (REJECTED_SETUP with the message). */
  accept(connection: RSocketServerConnection, setup: RSocketSetup): RSocketResponder;
  /** A peer broke the framing or a limit: counted and logged by the caller; the socket is then destroyed. */
  refuse(socket: net.Socket, reason: string): void;
  /** A failure worth a debug line (an ERROR frame from the app, an answer that threw). */
  failed(message: string): void;
  /** The connection has ended; called once. */
  ended(connection: RSocketServerConnection): void;
}

/** How the app's answer to one of our requests is delivered. */
export interface AnswerReceiver {
  resolve(data: string): void;
  reject(error: Error): void;
}

/** RSocket 1.0's frame types, as literal types (rsocket-core's FRAME_TYPES is typed as plain numbers, which would not narrow a Frame). */
const FRAME_TYPES = {
  SETUP: 0x01,
  KEEPALIVE: 0x03,
  REQUEST_RESPONSE: 0x04,
  REQUEST_FNF: 0x05,
  REQUEST_STREAM: 0x06,
  REQUEST_CHANNEL: 0x07,
  CANCEL: 0x09,
  PAYLOAD: 0x0a,
  ERROR: 0x0b,
  RESUME: 0x0d,
} as const;

const NO_BYTES: Buffer = Buffer.alloc(0);
/** Length prefix (3), stream id (4), type and flags (2). */
const HEADER_BYTES = 9;
const MAX_STREAM_ID = 0x7fffffff;
/** Unread bytes allowed beyond one largest frame before an app that does not read is disconnected. */
const UNREAD_SLACK_BYTES = 1 << 20;
/** The frame types that carry FOLLOWS (the flag bit 0x80): the Flipper SDKs never fragment. */
const FRAGMENTABLE = new Set<number>([FRAME_TYPES.REQUEST_RESPONSE, FRAME_TYPES.REQUEST_FNF, FRAME_TYPES.REQUEST_STREAM, FRAME_TYPES.REQUEST_CHANNEL, FRAME_TYPES.PAYLOAD]);
const FOLLOWS = 0x80;

/**
 * The host's side of one RSocket 1.0 connection (docs/protocol-rsocket.md, "Framing"), written for
 * what the Flipper SDKs use: a SETUP, KEEPALIVE echoes, REQUEST_RESPONSE and REQUEST_FNF both ways,
 * PAYLOAD and ERROR answers, CANCEL. Frames are decoded and encoded by rsocket-core's codec; the
 * connection machinery is ours because rsocket-js's costs some 3.5 KB of heap per idle connection
 * (subscribers, swappers, closures, maps and a timer), more than the rest of a session. An idle
 * connection here is this object: no closures, no timer (the listener sweeps keepalive deadlines),
 * no maps until a request is in flight.
 *
 * Every limit is checked on the frame header, before its body is buffered: the declared length (the
 * smaller unauthenticated limit until the SETUP is accepted), fragments (rsocket-js would reassemble
 * them without a bound) and a first frame that is not SETUP.
 */
export class RSocketServerConnection {
  /** Bytes received after the last whole frame: a partial frame (copied, so no pooled chunk stays pinned). */
  private partial: Buffer = NO_BYTES;
  /** Later chunks of that frame, once its header is known, joined when it is whole. */
  private more: Buffer[] | undefined;
  private moreBytes = 0;
  /** The partial frame's whole size (length prefix included), once its header is known; else 0. */
  private needed = 0;
  /** The app's requests, once its SETUP is accepted. */
  private responder: RSocketResponder | undefined;
  /** Our requests awaiting the app's answer, by stream id; none while idle. */
  private waiting: Map<number, AnswerReceiver> | undefined;
  /** The app's request-responses being answered, so that its CANCEL drops the answer; none while idle. */
  private answering: Set<number> | undefined;
  private nextStreamId = 2;
  private isEnded = false;
  /** When the connection dies for want of a KEEPALIVE (ms since the epoch); none before the SETUP. */
  keepaliveDeadline = Number.POSITIVE_INFINITY;
  private lifetimeMs = 0;

  constructor(
    readonly socket: net.Socket,
    private readonly rules: RSocketPortRules,
  ) {}

  get pendingRequests(): number {
    return this.waiting?.size ?? 0;
  }

  /** Bytes from the socket: whole frames are handled in order, a partial one is kept. */
  receive(chunk: Buffer): void {
    if (this.isEnded) return;
    let data = chunk;
    if (this.needed > 0) {
      // A large frame arrives in many chunks: they are joined once, when the frame is whole, instead of
      // copying everything received so far at every chunk.
      (this.more ??= []).push(chunk);
      this.moreBytes += chunk.length;
      if (this.partial.length + this.moreBytes < this.needed) return;
      data = Buffer.concat([this.partial, ...this.more]);
      this.resetPartial();
    } else if (this.partial.length > 0) {
      data = Buffer.concat([this.partial, chunk]);
      this.partial = NO_BYTES;
    }
    let offset = 0;
    while (data.length - offset >= 3) {
      const length = data.readUIntBE(offset, 3);
      const limit = this.rules.maxFrameBytes(this.socket);
      if (length > limit) return this.refuse(`frame of ${length} bytes over the limit`);
      if (length < 6) return this.refuse(`frame of ${length} bytes is too short`);
      if (data.length - offset >= HEADER_BYTES) {
        const typeAndFlags = data.readUInt16BE(offset + 7);
        const type = typeAndFlags >> 10;
        if (!this.responder && type !== FRAME_TYPES.SETUP && type !== FRAME_TYPES.RESUME) return this.refuse('first frame is not SETUP');
        if (FRAGMENTABLE.has(type) && (typeAndFlags & FOLLOWS) !== 0) return this.refuse('fragmented frame (FOLLOWS)');
      }
      if (data.length - offset < 3 + length) break;
      let frame: Frame;
      try {
        frame = deserializeFrame(data.subarray(offset + 3, offset + 3 + length), BufferEncoders);
      } catch (error) {
        this.fail(ERROR_CODES.CONNECTION_ERROR, `sonarhost could not read an RSocket frame: ${(error as Error).message}`);
        return;
      }
      offset += 3 + length;
      this.handle(frame);
      if (this.isEnded) return;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      // A slice would keep the chunk's whole backing store (a pool slab, a TLS record) for as long as
      // the connection waits for the rest of its frame.
      this.partial = rest.byteLength < rest.buffer.byteLength ? Buffer.from(rest) : rest;
      // Its header has passed the checks above once it is complete: only its length matters from here.
      if (rest.length >= HEADER_BYTES) this.needed = 3 + rest.readUIntBE(0, 3);
    }
  }

  private resetPartial(): void {
    this.partial = NO_BYTES;
    this.more = undefined;
    this.moreBytes = 0;
    this.needed = 0;
  }

  /** Sends a REQUEST_RESPONSE; the receiver gets the app's answer, its ERROR, or the connection's end. Returns the stream id. */
  requestResponse(data: string, receiver: AnswerReceiver): number {
    if (this.isEnded) {
      receiver.reject(disconnected());
      return 0;
    }
    const streamId = this.allocateStreamId();
    (this.waiting ??= new Map()).set(streamId, receiver);
    this.send({ type: FRAME_TYPES.REQUEST_RESPONSE, flags: 0, streamId, data: Buffer.from(data) });
    return streamId;
  }

  /** Gives up a request: the app is told (CANCEL) and its answer, if it still comes, is dropped. */
  cancel(streamId: number): void {
    if (!this.forget(streamId) || this.isEnded) return;
    this.send({ type: FRAME_TYPES.CANCEL, flags: 0, streamId });
  }

  fireAndForget(data: string): void {
    if (this.isEnded) return;
    this.send({ type: FRAME_TYPES.REQUEST_FNF, flags: 0, streamId: this.allocateStreamId(), data: Buffer.from(data) });
  }

  /** The next even (server-initiated) stream id, wrapping at the largest, never one a request still holds. */
  private allocateStreamId(): number {
    const next = (id: number) => (id + 2 > MAX_STREAM_ID ? 2 : id + 2);
    let streamId = this.nextStreamId;
    while (this.waiting?.has(streamId)) streamId = next(streamId);
    this.nextStreamId = next(streamId);
    return streamId;
  }

  /** Ends the connection from our side: written frames are flushed, then the socket is destroyed. */
  close(): void {
    this.end();
  }

  /** The socket closed (its 'close' event), or we end the connection. */
  end(): void {
    if (this.isEnded) return;
    this.isEnded = true;
    this.keepaliveDeadline = Number.POSITIVE_INFINITY;
    this.resetPartial();
    const waiting = this.waiting;
    this.waiting = undefined;
    this.answering = undefined;
    if (waiting) for (const receiver of waiting.values()) receiver.reject(disconnected());
    this.socket.destroySoon();
    this.rules.ended(this);
    this.responder?.ended?.();
  }

  /** Called by the listener's sweep when the keepalive deadline has passed. */
  expire(): void {
    this.fail(ERROR_CODES.CONNECTION_ERROR, `No KEEPALIVE within the SETUP's max lifetime of ${this.lifetimeMs} ms; closing the connection.`);
  }

  private handle(frame: Frame): void {
    if (!this.responder) return this.handleFirstFrame(frame);
    if (frame.streamId === 0) return this.handleConnectionFrame(frame);
    switch (frame.type) {
      case FRAME_TYPES.REQUEST_FNF:
        return this.runFireAndForget(text(frame.data));
      case FRAME_TYPES.REQUEST_RESPONSE:
        return this.answer(frame.streamId, text(frame.data));
      case FRAME_TYPES.REQUEST_STREAM:
      case FRAME_TYPES.REQUEST_CHANNEL:
        return this.sendError(frame.streamId, ERROR_CODES.REJECTED, 'sonarhost takes only REQUEST_RESPONSE and REQUEST_FNF (the Flipper protocol has no streams or channels).');
      case FRAME_TYPES.PAYLOAD: {
        const receiver = this.waiting?.get(frame.streamId);
        if (!receiver) return;
        // NEXT carries the answer; COMPLETE alone is an empty answer (rsocket-js left such a request hanging).
        if ((frame.flags & FLAGS.NEXT) !== 0 || (frame.flags & FLAGS.COMPLETE) !== 0) {
          this.forget(frame.streamId);
          receiver.resolve(text(frame.data));
        }
        return;
      }
      case FRAME_TYPES.ERROR: {
        const receiver = this.waiting?.get(frame.streamId);
        if (!receiver) return;
        this.forget(frame.streamId);
        receiver.reject(createErrorFromFrame(frame));
        return;
      }
      case FRAME_TYPES.CANCEL:
        this.answering?.delete(frame.streamId);
        return;
      default:
        return; // REQUEST_N, METADATA_PUSH on a stream, extensions: nothing the Flipper protocol uses
    }
  }

  private handleFirstFrame(frame: Frame): void {
    if (frame.type === FRAME_TYPES.RESUME) return this.fail(ERROR_CODES.REJECTED_RESUME, 'sonarhost does not support RESUME; connect with a new SETUP.');
    if (frame.type !== FRAME_TYPES.SETUP) return this.refuse('first frame is not SETUP');
    if ((frame.flags & FLAGS.LEASE) !== 0) return this.fail(ERROR_CODES.INVALID_SETUP, 'sonarhost does not support leases; send the SETUP without the LEASE flag.');
    let responder: RSocketResponder;
    try {
      responder = this.rules.accept(this, { data: text(frame.data), lifetimeMs: frame.lifetime });
    } catch (error) {
      return this.fail(ERROR_CODES.REJECTED_SETUP, `Application rejected setup, reason: ${(error as Error).message}`);
    }
    if (this.isEnded) return;
    this.responder = responder;
    this.lifetimeMs = frame.lifetime;
    this.keepaliveDeadline = Date.now() + frame.lifetime;
  }

  private handleConnectionFrame(frame: Frame): void {
    if (frame.type === FRAME_TYPES.KEEPALIVE) {
      this.keepaliveDeadline = Date.now() + this.lifetimeMs;
      if ((frame.flags & FLAGS.RESPOND) !== 0) {
        this.send({ type: FRAME_TYPES.KEEPALIVE, flags: frame.flags ^ FLAGS.RESPOND, streamId: 0, lastReceivedPosition: 0, data: frame.data });
      }
    } else if (frame.type === FRAME_TYPES.ERROR) {
      this.rules.failed(`the app ended the connection: ${frame.message}`);
      this.end();
    }
    // METADATA_PUSH, LEASE, a second SETUP, extensions: not part of the Flipper protocol; ignored, as rsocket-js did
  }

  private runFireAndForget(data: string): void {
    const handler = this.responder?.fireAndForget;
    if (!handler) return;
    try {
      handler.call(this.responder, data);
    } catch (error) {
      this.rules.failed(`a fire-and-forget message failed: ${(error as Error).message}`);
    }
  }

  private answer(streamId: number, data: string): void {
    const handler = this.responder?.requestResponse;
    if (!handler) {
      return this.sendError(streamId, ERROR_CODES.APPLICATION_ERROR, 'sonarhost answers no requests on this port: the app sends its messages as REQUEST_FNF.');
    }
    const answering = (this.answering ??= new Set());
    answering.add(streamId);
    const stillWanted = () => {
      const wanted = !this.isEnded && this.answering?.delete(streamId) === true;
      if (this.answering?.size === 0) this.answering = undefined;
      return wanted;
    };
    let answer: Promise<string>;
    try {
      answer = handler.call(this.responder, data);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (result) => {
        if (stillWanted()) this.send({ type: FRAME_TYPES.PAYLOAD, flags: FLAGS.NEXT | FLAGS.COMPLETE, streamId, data: Buffer.from(result) });
      },
      (error: unknown) => {
        if (stillWanted()) this.sendError(streamId, ERROR_CODES.APPLICATION_ERROR, error instanceof Error ? error.message : String(error));
      },
    );
  }

  /** Drops a waiting request; whether it was waiting. */
  private forget(streamId: number): boolean {
    const waiting = this.waiting;
    if (!waiting?.delete(streamId)) return false;
    if (waiting.size === 0) this.waiting = undefined;
    return true;
  }

  private refuse(reason: string): void {
    this.rules.refuse(this.socket, reason);
    this.end();
    this.socket.destroy();
  }

  /** A connection-level ERROR frame with a readable message, then the end. */
  private fail(code: number, message: string): void {
    this.send({ type: FRAME_TYPES.ERROR, flags: 0, streamId: 0, code, message });
    this.rules.failed(message);
    this.end();
  }

  private sendError(streamId: number, code: number, message: string): void {
    this.send({ type: FRAME_TYPES.ERROR, flags: 0, streamId, code, message });
  }

  private send(frame: Frame): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    batchWritesThisTick(this.socket);
    this.socket.write(serializeFrameWithLength(frame, BufferEncoders));
    // An app that sends KEEPALIVEs (or requests) but never reads the answers would make the host buffer
    // every echo in memory: beyond one largest frame and some slack unread, it is disconnected.
    const unread = this.socket.writableLength;
    if (unread > this.rules.maxFrameBytes(this.socket) + UNREAD_SLACK_BYTES) this.refuse(`the app stopped reading: ${unread} bytes of the host's frames unread`);
  }
}

function text(data: unknown): string {
  return Buffer.isBuffer(data) ? data.toString('utf8') : typeof data === 'string' ? data : '';
}

function disconnected(): HostError {
  return new HostError('client-disconnected', 'The app disconnected before answering.');
}
