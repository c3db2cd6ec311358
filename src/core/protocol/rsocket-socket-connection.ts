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
  /**
   * @param reportErrors whether a failure is passed on as an error; rsocket-js's server prints errors
   *   of connections that never completed a SETUP to the console, so those close quietly instead.
   */
  constructor(
    readonly socket: net.Socket,
    private readonly reportErrors: () => boolean = () => true,
    private readonly onClosed: () => void = () => undefined,
  ) {
    super(socket);
  }

  override connect(): void {
    // the socket is connected before the connection is made
  }

  /** Overrides rsocket-js's private `_close`. */
  protected _close(error?: Error): void {
    rsocketClose.call(this, this.reportErrors() ? error : undefined);
    // rsocket-js removed every listener, including other owners' 'close' listeners: tell them here.
    this.socket.on('error', () => undefined);
    this.socket.destroySoon();
    this.onClosed();
  }
}
