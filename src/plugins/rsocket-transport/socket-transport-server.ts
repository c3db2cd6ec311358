import type * as net from 'node:net';
import { type TransportServer } from 'rsocket-core';
import { Flowable } from 'rsocket-flowable';
import { type DuplexConnection, type ISubscriber } from 'rsocket-types';
import { type ConnectionGate } from '../../core/connection-gate.js';
import { type HostLimits } from '../../core/host-config.js';
import { listen } from '../../core/listen.js';
import { SocketConnection } from '../../core/protocol/rsocket-socket-connection.js';

export interface SocketAdmission {
  gate: ConnectionGate;
  /** Listener name for logs. */
  listener: string;
  limits: Pick<HostLimits, 'maxFrameBytes' | 'maxUnauthenticatedFrameBytes'>;
}

/**
 * An rsocket-js TransportServer over a net or tls server that we create, listen and close ourselves,
 * so that listen errors (a port in use) reach the caller, `setNoDelay` is set on every socket (Nagle
 * costs ~40 ms per batch otherwise), and every socket is destroyed on stop.
 *
 * rsocket-js hands a SETUP to `getRequestHandler` without the socket it came on; the secure server
 * needs that socket for the client certificate. Frames are dispatched synchronously from the
 * socket's 'data' handler, so `dispatchingSocket()` names the socket whose frames are being handled.
 */
export class SocketTransportServer implements TransportServer {
  private subscriber: ISubscriber<DuplexConnection> | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** The connection whose frames are being dispatched right now (set only inside its socket's 'data' handler). */
  private currentConnection: SocketConnection | undefined;
  private readonly setUpSockets = new WeakSet<net.Socket>();
  readonly server: net.Server;

  /** `createServer` is `net.createServer` or a `tls.createServer` with options, given our socket handler. */
  constructor(
    createServer: (onSocket: (socket: net.Socket) => void) => net.Server,
    private readonly admission: SocketAdmission,
  ) {
    this.server = createServer((socket) => this.onSocket(socket));
  }

  private onSocket(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => undefined); // reported through the connection; never an uncaught 'error'
    if (!this.subscriber) {
      socket.destroy();
      return;
    }
    const { gate, listener, limits } = this.admission;
    if (!gate.admit(socket, listener)) return;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const connection = new SocketConnection(socket, () => this.setUpSockets.has(socket), () => {
      this.sockets.delete(socket);
      gate.closed(socket);
    });
    const handleData = (connection as unknown as { _handleData: (chunk: Buffer) => void })._handleData;
    socket.removeListener('data', handleData);
    const firstFrame = new FirstFrameCheck();
    // rsocket-js buffers a frame until it is complete, whatever length it declares: check lengths first.
    const sizes = new FrameSizeGuard(() => (gate.isAuthenticated(socket) ? limits.maxFrameBytes : limits.maxUnauthenticatedFrameBytes));
    socket.on('data', (chunk: Buffer) => {
      if (!firstFrame.accepts(chunk)) {
        // rsocket-js 0.0.27 reports a non-SETUP first frame to console.error and leaves the socket open.
        gate.refuse(socket.remoteAddress ?? 'unknown', 'first frame is not SETUP');
        socket.destroy();
        return;
      }
      const problem = sizes.check(chunk);
      if (problem !== undefined) {
        gate.refuse(socket.remoteAddress ?? 'unknown', problem);
        socket.destroy();
        return;
      }
      this.currentConnection = connection;
      try {
        handleData(chunk);
      } finally {
        this.currentConnection = undefined;
      }
    });
    this.subscriber.onNext(connection);
  }

  /** The socket whose frames are being handled now; marks it as having completed its SETUP. */
  dispatchingSocket(): net.Socket | undefined {
    const socket = this.currentConnection?.socket;
    if (socket) this.setUpSockets.add(socket);
    return socket;
  }

  /** The connection whose frames are being handled now (see dispatchingSocket). */
  dispatchingConnection(): SocketConnection | undefined {
    return this.currentConnection;
  }

  listen(port: number, host: string): Promise<net.AddressInfo> {
    return listen(this.server, port, host, 'FLIPPER_PORTS="<insecure>,<secure>" or --ports');
  }

  start(): Flowable<DuplexConnection> {
    return new Flowable<DuplexConnection>((subscriber) => {
      subscriber.onSubscribe({
        cancel: () => {
          this.subscriber = undefined;
        },
        request: () => {
          this.subscriber = subscriber;
        },
      });
    });
  }

  stop(): void {
    this.subscriber = undefined;
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  get connectionCount(): number {
    return this.sockets.size;
  }
}

/** Shared empty buffer: a fresh slice of a chunk would pin the chunk's whole backing store. */
const NO_BYTES = Buffer.alloc(0);

/** FOLLOWS, in the 10 flag bits after the 6-bit frame type; the same bit means RESPOND on KEEPALIVE. */
const FOLLOWS = 0x80;
/** The frame types that carry FOLLOWS: REQUEST_RESPONSE, REQUEST_FNF, REQUEST_STREAM, REQUEST_CHANNEL, PAYLOAD. */
const FRAGMENTABLE = new Set([0x04, 0x05, 0x06, 0x07, 0x0a]);

function isFragment(typeAndFlags: number): boolean {
  return FRAGMENTABLE.has(typeAndFlags >> 10) && (typeAndFlags & FOLLOWS) !== 0;
}

/**
 * Follows the frames across chunks: reports the first declared length over the limit (the limit may
 * change when the connection authenticates), and any fragment (FOLLOWS): the Flipper SDKs never
 * fragment, and rsocket-js would reassemble fragments without any limit.
 */
class FrameSizeGuard {
  /** The current frame's first bytes: 3 of length, then 4 of stream id and 2 of type and flags. */
  private header = NO_BYTES;
  /** Bytes of the current frame still to come after its length prefix. */
  private bodyLeft = 0;

  constructor(private readonly limit: () => number) {}

  /** Undefined when fine; otherwise why the connection must be closed. */
  check(chunk: Buffer): string | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.header.length < 3) {
        const take = Math.min(3 - this.header.length, chunk.length - offset);
        this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
        offset += take;
        if (this.header.length < 3) return undefined;
        const length = this.header.readUIntBE(0, 3);
        if (length > this.limit()) return `frame of ${length} bytes over the limit`;
        if (length < 6) return `frame of ${length} bytes is too short`;
        this.bodyLeft = length;
        continue;
      }
      const take = Math.min(this.bodyLeft, chunk.length - offset);
      if (this.header.length < 9) {
        const before = this.header.length;
        this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + Math.min(take, 9 - before))]);
        if (before < 9 && this.header.length === 9 && isFragment(this.header.readUInt16BE(7))) return 'fragmented frame (FOLLOWS)';
      }
      this.bodyLeft -= take;
      offset += take;
      if (this.bodyLeft === 0) this.header = NO_BYTES;
    }
    return undefined;
  }
}

const SETUP = 0x01;
const RESUME = 0x0d;

/** Looks at the header of the first frame (24-bit length, 32-bit stream id, 6-bit type): SETUP or RESUME only. */
class FirstFrameCheck {
  private head = NO_BYTES;
  private decided = false;

  accepts(chunk: Buffer): boolean {
    if (this.decided) return true;
    this.head = Buffer.concat([this.head, chunk]).subarray(0, 9);
    if (this.head.length < 9) return true; // not enough yet; rsocket-js buffers partial frames itself
    this.decided = true;
    const type = this.head[7]! >> 2;
    // The header was cut from a pooled buffer: keeping it would pin that buffer for the connection's life.
    this.head = NO_BYTES;
    return type === SETUP || type === RESUME;
  }
}
