import type * as net from 'node:net';
import { RSocketTcpConnection } from 'rsocket-tcp-client';

const rsocketClose = (RSocketTcpConnection.prototype as unknown as { _close(this: RSocketTcpConnection, error?: Error): void })._close;

/**
 * rsocket-js 0.0.27's TCP connection over a socket that is already connected, fixed for two of its
 * habits: on close it removes every listener and only half-closes, so a later socket error would be
 * an uncaught exception (a crash) and a silent peer would keep the socket open. Here a closed
 * connection keeps a no-op error listener and the socket is destroyed once its last frame is flushed.
 */
export class SocketConnection extends RSocketTcpConnection {
  constructor(readonly socket: net.Socket) {
    super(socket);
  }

  override connect(): void {
    // the socket is connected before the connection is made
  }

  /** Overrides rsocket-js's private `_close`. */
  protected _close(error?: Error): void {
    rsocketClose.call(this, error);
    this.socket.on('error', () => undefined);
    this.socket.destroySoon();
  }
}
