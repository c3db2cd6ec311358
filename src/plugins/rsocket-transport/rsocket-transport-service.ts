import * as net from 'node:net';
import * as tls from 'node:tls';
import { inject, injectable } from 'inversify';
import { AppConnector } from '../../core/app-connector.js';
import { CertificateExchange } from '../../core/certificate-exchange.js';
import { CertificateStore } from '../../core/certificate-store.js';
import { ConnectionDiagnostics } from '../../core/connection-diagnostics.js';
import { ConnectionGate } from '../../core/connection-gate.js';
import { type Disposable, DisposableCollection, toDisposable } from '../../core/disposable.js';
import { HostConfig } from '../../core/host-config.js';
import { HostEvents } from '../../core/host-events.js';
import { type HostEndpoint, type HostService } from '../../core/host-service.js';
import { HANDSHAKE_TIMEOUT_MS, listenEverywhere } from '../../core/listen.js';
import { TlsListeners } from '../../core/tls-listeners.js';
import { Logger } from '../../core/logger.js';
import { createExchangeResponder } from './exchange-responder.js';
import { createSecureResponder } from './secure-responder.js';
import { type RSocketPort, RSocketListener } from './rsocket-listener.js';

/**
 * The RSocket transport (docs/protocol-rsocket.md, "Ports and TLS", "Framing"): a plain TCP server for the certificate exchange and a TLS server
 * with client certificates for the plugin protocol, on every configured bind address.
 */
@injectable()
export class RSocketTransportService implements HostService {
  readonly id = 'rsocket';
  readonly phase = 'servers' as const;
  private readonly log: Logger;
  private readonly tlsListeners: TlsListeners;
  /** The ports actually bound (differs from the config when it asks for port 0). */
  boundPorts: { insecure: number; secure: number } | undefined;

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(CertificateStore) private readonly certificates: CertificateStore,
    @inject(CertificateExchange) private readonly exchange: CertificateExchange,
    @inject(ConnectionDiagnostics) private readonly diagnostics: ConnectionDiagnostics,
    @inject(AppConnector) private readonly connector: AppConnector,
    @inject(ConnectionGate) private readonly gate: ConnectionGate,
    @inject(HostEvents) private readonly events: HostEvents,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('rsocket');
    this.tlsListeners = new TlsListeners(certificates);
  }

  async start(): Promise<Disposable> {
    const running = new DisposableCollection();
    running.push(this.tlsListeners.follow(this.events, (listeners, renewals) => this.log.info('reloaded the secure RSocket listeners with the new certificates', { listeners, renewals })));
    try {
      const secure = await this.listenEverywhere('secure', this.config.ports.secure, () => this.secureServer(), running);
      const insecure = await this.listenEverywhere('insecure', this.config.ports.insecure, () => this.exchangeServer(), running);
      this.boundPorts = { insecure, secure };
    } catch (error) {
      await running.dispose();
      throw error;
    }
    return running;
  }

  endpoints(): HostEndpoint[] {
    return this.boundPorts ? [{ id: 'rsocket.insecure', port: this.boundPorts.insecure }, { id: 'rsocket.secure', port: this.boundPorts.secure }] : [];
  }

  private exchangeServer(): RSocketListener {
    return new RSocketListener((onSocket) => net.createServer(onSocket), {
      ...this.port('RSocket certificate exchange'),
      accept: (connection, setup) => {
        const source = connection.socket.remoteAddress;
        return createExchangeResponder(setup, this.exchange, this.diagnostics, this.log, (csr) => this.gate.allowExchange(source, csr));
      },
    });
  }

  private secureServer(): RSocketListener {
    const { key, cert, ca } = this.certificates.serverCredentials();
    const createServer = (onSocket: (socket: net.Socket) => void) => {
      const server = this.tlsListeners.add(tls.createServer({ key, cert, ca, requestCert: true, rejectUnauthorized: true, handshakeTimeout: HANDSHAKE_TIMEOUT_MS }, onSocket));
      server.on('tlsClientError', (error, socket) => {
        this.gate.refuse(socket.remoteAddress ?? 'unknown', `TLS: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
        socket.destroy(); // Node only reports a handshake timeout: without this the stalled socket stays open
      });
      return server;
    };
    return new RSocketListener(createServer, {
      ...this.port('RSocket secure'),
      accept: (connection, setup) => {
        const responder = createSecureResponder(connection, setup, this.connector);
        this.gate.authenticated(connection.socket); // certificate and SETUP agree: larger frames, no lifetime limit
        return responder;
      },
    });
  }

  private port(listener: string): Omit<RSocketPort, 'accept'> {
    return { gate: this.gate, listener, limits: this.config.limits, log: this.log };
  }

  /** Listens on each bind address; returns the bound port (the same on every address). */
  private async listenEverywhere(
    name: string,
    port: number,
    create: () => RSocketListener,
    running: DisposableCollection,
  ): Promise<number> {
    const bound = await listenEverywhere({
      name,
      port,
      hosts: this.config.host,
      log: this.log,
      listenOn: async (host, portToUse) => {
        const listener = create();
        const address = await listener.listen(portToUse, host);
        return { address, stop: toDisposable(() => listener.stop()) };
      },
    });
    running.push(bound.listeners);
    return bound.port;
  }
}
