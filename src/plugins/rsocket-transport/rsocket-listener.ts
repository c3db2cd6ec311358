import type * as net from 'node:net';
import { type ConnectionGate } from '../../core/connection-gate.js';
import { type HostLimits } from '../../core/host-config.js';
import { listen } from '../../core/listen.js';
import { type Logger } from '../../core/logger.js';
import { type RSocketPortRules, type RSocketResponder, RSocketServerConnection, type RSocketSetup } from './rsocket-server-connection.js';

export interface RSocketPort {
  gate: ConnectionGate;
  /** Listener name for logs. */
  listener: string;
  limits: Pick<HostLimits, 'maxFrameBytes' | 'maxUnauthenticatedFrameBytes'>;
  log: Logger;
  /** Makes the responder for a connection's SETUP; throwing rejects the SETUP with the message. */
  accept(connection: RSocketServerConnection, setup: RSocketSetup): RSocketResponder;
}

/** How often keepalive deadlines are checked: one timer per listener instead of one per connection. */
const KEEPALIVE_SWEEP_MS = 1_000;

/** The socket's connection, so that one shared listener function serves every socket (no closure per connection). */
const CONNECTION = Symbol('sonarhost.rsocketConnection');
type TaggedSocket = net.Socket & { [CONNECTION]?: RSocketServerConnection };

function onData(this: TaggedSocket, chunk: Buffer): void {
  this[CONNECTION]?.receive(chunk);
}

function onClose(this: TaggedSocket): void {
  this[CONNECTION]?.end();
}

/** Socket errors end in 'close', which ends the connection; a socket without an 'error' listener would crash the host. */
function ignoreError(): void {}

/**
 * One RSocket port on one address: a net or tls server that we create, listen and close ourselves (so
 * listen errors reach the caller), admission through the gate, `setNoDelay` on every socket (Nagle
 * costs ~40 ms per batch otherwise), our RSocketServerConnection on each, and every socket destroyed on stop.
 */
export class RSocketListener {
  readonly server: net.Server;
  private readonly connections = new Set<RSocketServerConnection>();
  private readonly rules: RSocketPortRules;
  private sweep: NodeJS.Timeout | undefined;

  /** `createServer` is `net.createServer` or a `tls.createServer` with options, given our socket handler. */
  constructor(
    createServer: (onSocket: (socket: net.Socket) => void) => net.Server,
    private readonly port: RSocketPort,
  ) {
    this.server = createServer((socket) => this.onSocket(socket));
    const { gate, limits, log } = port;
    this.rules = {
      maxFrameBytes: (socket) => (gate.isAuthenticated(socket) ? limits.maxFrameBytes : limits.maxUnauthenticatedFrameBytes),
      accept: (connection, setup) => port.accept(connection, setup),
      refuse: (socket, reason) => gate.refuse(socket.remoteAddress ?? 'unknown', reason),
      failed: (message) => log.debug(`${port.listener} connection: ${message}`),
      ended: (connection) => {
        this.connections.delete(connection);
        gate.closed(connection.socket);
      },
    };
  }

  private onSocket(socket: TaggedSocket): void {
    socket.setNoDelay(true);
    socket.on('error', ignoreError);
    if (!this.server.listening) {
      socket.destroy();
      return;
    }
    if (!this.port.gate.admit(socket, this.port.listener)) return;
    const connection = new RSocketServerConnection(socket, this.rules);
    socket[CONNECTION] = connection;
    this.connections.add(connection);
    socket.on('data', onData);
    socket.on('close', onClose);
  }

  async listen(port: number, host: string): Promise<net.AddressInfo> {
    const address = await listen(this.server, port, host, 'FLIPPER_PORTS="<insecure>,<secure>" or --ports');
    this.sweep ??= setInterval(() => this.expireSilentConnections(), KEEPALIVE_SWEEP_MS).unref();
    return address;
  }

  /** Ends the connections whose app has sent no KEEPALIVE within its SETUP's max lifetime. */
  private expireSilentConnections(): void {
    const now = Date.now();
    for (const connection of this.connections) if (connection.keepaliveDeadline <= now) connection.expire();
  }

  stop(): void {
    clearInterval(this.sweep);
    this.sweep = undefined;
    this.server.close();
    for (const connection of [...this.connections]) {
      connection.end();
      connection.socket.destroy();
    }
    this.connections.clear();
  }
}
