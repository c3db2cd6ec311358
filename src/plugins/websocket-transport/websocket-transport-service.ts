import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { inject, injectable } from 'inversify';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppConnector, type ConnectedApp } from '../../core/app-connector.js';
import { CertificateExchange } from '../../core/certificate-exchange.js';
import { CertificateStore } from '../../core/certificate-store.js';
import { ConnectionDiagnostics } from '../../core/connection-diagnostics.js';
import { ConnectionGate } from '../../core/connection-gate.js';
import { type Disposable, DisposableCollection, toDisposable } from '../../core/disposable.js';
import { HostConfig } from '../../core/host-config.js';
import { describeError } from '../../core/host-error.js';
import { HostEvents } from '../../core/host-events.js';
import { type HostEndpoint, type HostService } from '../../core/host-service.js';
import { type AddressListener, HANDSHAKE_TIMEOUT_MS, listen, listenEverywhere } from '../../core/listen.js';
import { Logger } from '../../core/logger.js';
import { TlsListeners } from '../../core/tls-listeners.js';
import { parseJsonObject } from '../../core/protocol/json-message.js';
import { parseWebSocketQuery } from '../../core/protocol/websocket-query.js';
import { WebSocketAppChannel } from './websocket-app-channel.js';

type Listener = 'insecure' | 'secure' | 'browser';

/** Close codes as upstream uses them. */
const INTERNAL_ERROR = 1011;
const TRY_AGAIN_LATER = 1013;
/**
 * The hosts a browser-port Origin may name. js-flipper in Node sends `localhost:` or `http://localhost:<port>`
 * (docs/protocol-websocket.md, "Browser port"); a page on this machine sends its own origin.
 */
const LOOPBACK_ORIGIN_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * Whether an Origin names this machine. It is parsed, not prefix-matched: `http://localhost:1@evil.example`
 * starts like a local origin but names evil.example. The scheme-less `localhost:<port>` that js-flipper's
 * README suggests is not a URL with a host, so it is matched whole.
 */
export function isLoopbackOrigin(origin: string | undefined): boolean {
  if (typeof origin !== 'string') return false;
  if (/^localhost:\d{0,5}$/.test(origin)) return true;
  // Only the shape an Origin has (scheme://host[:port]); the URL parser would also forgive `http:localhost`.
  if (!/^https?:\/\/[^/?#@\\\s]+\/?$/i.test(origin)) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  // The host as written, too: the parser would turn 0x7f.1 or 2130706433 into 127.0.0.1.
  const written = origin.slice(origin.indexOf('//') + 2).replace(/(:\d*)?\/?$/, '').toLowerCase();
  const bare = url.username === '' && url.password === '' && url.pathname === '/' && url.search === '' && url.hash === '';
  return bare && written === url.hostname && LOOPBACK_ORIGIN_HOSTS.includes(url.hostname);
}

/**
 * The WebSocket transport (docs/protocol-websocket.md): plain WebSocket for the certificate exchange
 * (default 9089), WebSocket over TLS with client certificates (9088), and the browser port for
 * js-flipper (8333, Origin-checked, no certificates). The same exchange flow, client registry and
 * connection handlers as the RSocket transport.
 */
@injectable()
export class WebSocketTransportService implements HostService {
  readonly id = 'websocket';
  readonly phase = 'servers' as const;
  private readonly log: Logger;
  private readonly tlsListeners: TlsListeners;
  /** Ports actually bound, per listener (differs from the config when it asks for port 0). */
  readonly boundPorts: Partial<Record<Listener, number>> = {};
  private readonly browserClients = new Set<WebSocket>();

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(CertificateStore) private readonly certificates: CertificateStore,
    @inject(CertificateExchange) private readonly exchange: CertificateExchange,
    @inject(AppConnector) private readonly connector: AppConnector,
    @inject(ConnectionDiagnostics) private readonly diagnostics: ConnectionDiagnostics,
    @inject(ConnectionGate) private readonly gate: ConnectionGate,
    @inject(HostEvents) private readonly events: HostEvents,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('websocket');
    this.tlsListeners = new TlsListeners(certificates);
  }

  async start(): Promise<Disposable> {
    const running = new DisposableCollection();
    running.push(this.tlsListeners.follow(this.events, (listeners, renewals) => this.log.info('reloaded the secure WebSocket listeners with the new certificates', { listeners, renewals })));
    try {
      for (const listener of ['secure', 'insecure', 'browser'] as const) {
        const port = this.config.webSocket[listener];
        if (port === false) continue;
        this.boundPorts[listener] = await this.listenEverywhere(listener, port, running);
      }
    } catch (error) {
      await running.dispose();
      throw error;
    }
    return running;
  }

  endpoints(): HostEndpoint[] {
    return Object.entries(this.boundPorts).map(([listener, port]) => ({ id: `websocket.${listener}`, port }));
  }

  private createServer(listener: Listener): net.Server {
    if (listener !== 'secure') {
      const server = http.createServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n'));
      server.headersTimeout = HANDSHAKE_TIMEOUT_MS; // an upgrade request trickled in slowly is dropped
      server.requestTimeout = HANDSHAKE_TIMEOUT_MS;
      return server;
    }
    const { key, cert, ca } = this.certificates.serverCredentials();
    // `ca` makes OpenSSL send the chain [server, CA], which the WebSocket-era Android SDK requires.
    // No ALPN (https defaults to offering http/1.1): Node copies that list into every TLS socket from its
    // buffer pool, and each idle app then pins a pool slab; a WebSocket upgrade is HTTP/1.1 without it.
    const server = https.createServer({ key, cert, ca, requestCert: true, rejectUnauthorized: true, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, ALPNProtocols: [] }, (_req, res) => res.writeHead(426).end());
    server.on('tlsClientError', (error, socket) => {
      this.gate.refuse(socket.remoteAddress ?? 'unknown', `TLS: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
      socket.destroy(); // Node only reports a handshake timeout: without this the stalled socket stays open
    });
    return this.tlsListeners.add(server);
  }

  private async listenEverywhere(listener: Listener, port: number, running: DisposableCollection): Promise<number> {
    const bound = await listenEverywhere({
      name: `WebSocket ${listener}`,
      port,
      hosts: this.config.host,
      log: this.log,
      listenOn: (host, portToUse) => this.listenOn(listener, host, portToUse),
    });
    running.push(bound.listeners);
    return bound.port;
  }

  private async listenOn(listener: Listener, host: string, port: number): Promise<AddressListener> {
    const server = this.createServer(listener);
    const wss = new WebSocketServer({
      server: server as http.Server,
      // Before its identity is proven a client may send only small messages (the signCertificate request).
      maxPayload: this.maxPayload(listener),
      verifyClient: listener === 'browser' ? (info: { origin?: string }) => this.originAllowed(info.origin) : undefined,
    });
    wss.on('connection', (socket, request) => this.accept(listener, socket, request));
    wss.on('error', (error) => this.log.debug('websocket server error', { listener, error: error.message }));
    const sockets = new Set<net.Socket>();
    // The secure server's 'connection' comes before the TLS handshake; all three start unauthenticated.
    server.on(listener === 'secure' ? 'secureConnection' : 'connection', (socket: net.Socket) => {
      socket.setNoDelay(true);
      if (!this.gate.admit(socket, `WebSocket ${listener}`)) return;
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const address = await listen(server, port, host, hintFor(listener));
    const stop = toDisposable(async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    return { address, stop };
  }

  private maxPayload(listener: Listener): number {
    const { maxUnauthenticatedFrameBytes, maxFrameBytes, maxBrowserFrameBytes } = this.config.limits;
    // Before its identity is proven a client may send only small messages (the signCertificate request);
    // a browser client never proves one, so it keeps a limit of its own.
    return listener === 'insecure' ? maxUnauthenticatedFrameBytes : listener === 'browser' ? maxBrowserFrameBytes : maxFrameBytes;
  }

  private originAllowed(origin: string | undefined): boolean {
    const allowed = isLoopbackOrigin(origin);
    if (!allowed) this.log.info('refused a browser-port connection: its Origin must name localhost, 127.0.0.1 or [::1] (such as "http://localhost:3000" or "localhost:")', { origin: origin ?? '(none)' });
    return allowed;
  }

  private accept(listener: Listener, socket: WebSocket, request: http.IncomingMessage): void {
    socket.on('error', (error) => this.log.debug('websocket error', { listener, error: error.message }));
    let identity;
    try {
      identity = parseWebSocketQuery(request.url, listener);
    } catch (error) {
      // Upstream closes with 1011 and reports nothing, so port scanners stay quiet; we log at debug.
      this.log.debug('closed a WebSocket with an unusable query', { listener, error: describeError(error) });
      socket.close(INTERNAL_ERROR, closeReason(error));
      return;
    }
    if (listener === 'insecure') return this.acceptExchange(socket, identity.query, request.socket.remoteAddress);
    if (listener === 'browser' && !this.admitBrowser(socket, request.socket.remoteAddress)) return;
    try {
      const appId =
        listener === 'secure'
          ? this.connector.certifiedAppId((request.socket as TLSSocket).getPeerCertificate()?.subject?.CN, identity.csr, identity.query)
          : (identity.appId ?? identity.query.app);
      // The channel exists before the connection it reports to; messages cannot arrive before connect() returns.
      const ref: { app?: ConnectedApp } = {};
      const channel = new WebSocketAppChannel(socket, (text) => ref.app?.receive(text));
      const app = this.connector.connect({ query: identity.query, appId, csr: identity.csr, csrPath: identity.csrPath, channel });
      ref.app = app;
      socket.on('close', () => app.closed());
      this.gate.authenticated(request.socket);
    } catch (error) {
      this.log.warn('refused a WebSocket connection', { listener, app: identity.query.app, error: describeError(error) });
      socket.close(INTERNAL_ERROR, closeReason(error));
    }
  }

  /**
   * The browser port's own quota: its clients never authenticate (the Origin rule stops browsers, not
   * local processes), so they leave the unauthenticated gate once registered but count here instead.
   */
  private admitBrowser(socket: WebSocket, source: string | undefined): boolean {
    if (this.browserClients.size >= this.config.limits.maxBrowserConnections) {
      this.gate.refuse(source ?? 'unknown', 'too many browser-port clients');
      socket.close(TRY_AGAIN_LATER, `At most ${this.config.limits.maxBrowserConnections} browser clients at once.`);
      return false;
    }
    this.browserClients.add(socket);
    socket.once('close', () => this.browserClients.delete(socket));
    return true;
  }

  /** The insecure port: one `signCertificate` text frame, answered by exactly one frame. */
  private acceptExchange(socket: WebSocket, query: ReturnType<typeof parseWebSocketQuery>['query'], source: string | undefined): void {
    this.diagnostics.connectionAttempt(query);
    let answered = false;
    socket.on('message', (data) => {
      let message: Record<string, unknown>;
      try {
        message = parseJsonObject(data.toString(), 'The certificate exchange message');
      } catch (error) {
        this.log.warn('ignored a malformed certificate exchange message', { app: query.app, error: describeError(error) });
        return;
      }
      if (message.method === 'signCertificateAck') {
        this.log.debug('the app acknowledged the certificate exchange', { app: query.app, isError: message.isError === true, hasRequiredFiles: message.hasRequiredFiles === true });
        return;
      }
      if (message.method !== 'signCertificate' || answered) return;
      answered = true;
      if (!this.gate.allowExchange(source, message.csr)) {
        this.log.warn('refused a certificate exchange: too many from this address (or, on this computer, for this key) in the last minute', { app: query.app, source });
        socket.send('{}');
        return;
      }
      // A plugin's exchange may reject instead of returning a failed outcome: that is one failed exchange, not a crash.
      void this.exchange
        .exchange({ query, csr: message.csr, destination: message.destination })
        .catch((error: unknown) => {
          this.log.warn('the certificate exchange failed', { app: query.app, error: describeError(error) });
          return undefined;
        })
        .then((outcome) => {
          // On failure `{}` (as upstream since v0.245) so the SDK retries instead of waiting forever; the reason is logged.
          socket.send(JSON.stringify(outcome?.ok ? { deviceId: outcome.deviceId } : {}));
        });
    });
  }
}

/** A WebSocket close reason must fit in 123 bytes of UTF-8. */
function closeReason(error: unknown): string {
  let text = describeError(error).slice(0, 120);
  while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
  return text;
}

function hintFor(listener: Listener): string {
  return listener === 'browser' ? 'FLIPPER_BROWSER_PORT or --browser-port' : 'FLIPPER_ALT_PORTS="<insecure>,<secure>" or --alt-ports';
}
