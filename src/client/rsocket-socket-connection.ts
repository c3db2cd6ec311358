import type * as net from 'node:net';
import { RSocketTcpConnection } from 'rsocket-tcp-client';

const rsocketClose = (RSocketTcpConnection.prototype as unknown as { _close(this: RSocketTcpConnection, error?: Error): void })._close;
const rsocketReadFrames = (RSocketTcpConnection.prototype as unknown as { _readFrames(this: RSocketTcpConnection, chunk: Buffer): unknown[] })._readFrames;
const NO_BYTES = Buffer.alloc(0);

/**
 * rsocket-js 0.0.27's TCP connection over a socket that is already connected (the client SDK's side;
 * the host has its own RSocket server), fixed for two of its habits: on close it removes every
 * listener and only half-closes, so a later socket error would be an uncaught exception (a crash) and
 * a silent peer would keep the socket open. Here a closed connection keeps a no-op error listener and
 * the socket is destroyed once its last frame is flushed.
 */
export class SocketConnection extends RSocketTcpConnection {
  constructor(readonly socket: net.Socket) {
    super(socket);
  }

  override connect(): void {
    // the socket is connected before the connection is made
  }

  /**
   * Overrides rsocket-js's private `_readFrames`, which keeps the bytes after the last whole frame as a
   * slice of the chunk they came in: an idle connection then holds that chunk's whole backing store (an
   * 8 KiB pool slab, or a TLS record buffer) for as long as it stays open. The rest is copied out (or
   * dropped when empty), so an idle connection holds only what it really has to.
   */
  protected _readFrames(chunk: Buffer): unknown[] {
    const frames = rsocketReadFrames.call(this, chunk);
    const self = this as unknown as { _buffer: Buffer };
    const rest = self._buffer;
    self._buffer = rest.length === 0 ? NO_BYTES : rest.byteLength < rest.buffer.byteLength ? Buffer.from(rest) : rest;
    return frames;
  }

  /** Overrides rsocket-js's private `_close`. */
  protected _close(error?: Error): void {
    rsocketClose.call(this, error);
    // rsocket-js removed every listener, including other owners' 'close' listeners.
    this.socket.on('error', () => undefined);
    this.socket.destroySoon();
  }
}
