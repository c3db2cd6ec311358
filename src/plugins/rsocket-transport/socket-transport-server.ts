import { once } from 'node:events';
import type * as net from 'node:net';
import { type TransportServer } from 'rsocket-core';
import { Flowable } from 'rsocket-flowable';
import { type DuplexConnection, type ISubscriber } from 'rsocket-types';
import { HostError } from '../../core/host-error.js';
import { SocketConnection } from '../../core/protocol/rsocket-socket-connection.js';

/**
 * An rsocket-js TransportServer over a net or tls server that we create, listen and close ourselves,
 * so that listen errors (a port in use) reach the caller, `setNoDelay` is set on every socket (Nagle
 * costs ~40 ms per batch otherwise), and every socket is destroyed on stop.
 *
 * rsocket-js hands a SETUP to `getRequestHandler` without the socket it came on; the secure server
 * needs that socket for the client certificate. Frames are dispatched synchronously from the
 * socket's 'data' handler, so `dispatchingSocket()` names the socket whose frames are being handled.
 */
let currentSocket: net.Socket | undefined;

export function dispatchingSocket(): net.Socket | undefined {
  return currentSocket;
}

export class SocketTransportServer implements TransportServer {
  private subscriber: ISubscriber<DuplexConnection> | undefined;
  private readonly sockets = new Set<net.Socket>();
  readonly server: net.Server;

  /** `createServer` is `net.createServer` or a `tls.createServer` with options, given our socket handler. */
  constructor(createServer: (onSocket: (socket: net.Socket) => void) => net.Server) {
    this.server = createServer((socket) => this.onSocket(socket));
  }

  private onSocket(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined); // reported through the connection; never an uncaught 'error'
    if (!this.subscriber) {
      socket.destroy();
      return;
    }
    const connection = new SocketConnection(socket);
    const handleData = (connection as unknown as { _handleData: (chunk: Buffer) => void })._handleData;
    socket.removeListener('data', handleData);
    socket.on('data', (chunk: Buffer) => {
      currentSocket = socket;
      try {
        handleData(chunk);
      } finally {
        currentSocket = undefined;
      }
    });
    this.subscriber.onNext(connection);
  }

  async listen(port: number, host: string): Promise<net.AddressInfo> {
    this.server.listen(port, host);
    try {
      await Promise.race([once(this.server, 'listening'), once(this.server, 'error').then(([error]) => Promise.reject(error))]);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new HostError('config-invalid', `Port ${port} on ${host} is already in use (another Flipper or sonarhost?). Stop that program, or move sonarhost's ports with FLIPPER_PORTS="<insecure>,<secure>" or --ports.`, { cause: error });
      }
      throw new HostError('config-invalid', `Cannot listen on ${host} port ${port}: ${(error as Error).message}.`, { cause: error });
    }
    this.server.on('error', () => undefined); // after listening, errors surface per socket
    return this.server.address() as net.AddressInfo;
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
