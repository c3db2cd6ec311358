import { inject, injectable, multiInject, optional } from 'inversify';
import { type AppChannel } from './app-channel.js';
import { AppSession, type AppSessionEvents, DEFAULT_REQUEST_TIMEOUT_MS } from './app-session.js';
import { type ClientQuery, clientIdOf } from './client-query.js';
import { ClientRegistry } from './client-registry.js';
import { ConnectionDiagnostics } from './connection-diagnostics.js';
import { DeviceTransport } from './device-transport.js';
import { HostConfig } from './host-config.js';
import { HostError, describeError } from './host-error.js';
import { Logger } from './logger.js';
import { csrCommonName, parseCsrCached } from './x509/csr.js';

/** Messages an app may send before its session exists (legacy SDKs answer the registration by fire-and-forget). */
const MAX_EARLY_MESSAGES = 1000;

/** What a transport knows about a new app connection once its identity has been read. */
export interface AppConnectionRequest {
  query: ClientQuery;
  /** The app id the connection is certified for (the client certificate's CN), or an id the transport vouches for. */
  appId: string;
  csr?: string;
  csrPath?: string;
  channel: AppChannel;
}

/** The transport's side of a connection handed to the core: deliver app messages, report the close. */
export interface ConnectedApp {
  /** A message from the app that is not an answer to a host request. Queued until the session exists. */
  receive(text: string): void;
  /** The transport saw the connection close or fail. */
  closed(): void;
}

/**
 * Turns an authenticated connection into a registered client, the same way for every transport:
 * lets device transports rename the app and re-derive its device id (Android), builds the session, queues app
 * messages that arrive before it exists, and registers it. A handler cannot tell which transport a
 * client came through.
 */
@injectable()
export class AppConnector {
  private readonly log: Logger;
  /**
   * Shared by every session, which adds its app's fields to what it logs, and so are the session
   * events below: a logger or callbacks of its own would be kept for each idle client.
   */
  private readonly sessionLog: Logger;
  private readonly sessionEvents: AppSessionEvents = {
    onEvent: (s, event) => this.registry.dispatchEvent(s, event),
    onRefreshPlugins: (s) => void this.registry.refreshPlugins(s),
  };

  constructor(
    @inject(ClientRegistry) private readonly registry: ClientRegistry,
    @inject(ConnectionDiagnostics) private readonly diagnostics: ConnectionDiagnostics,
    @multiInject(DeviceTransport) @optional() private readonly deviceTransports: DeviceTransport[] | undefined,
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('connections');
    this.sessionLog = this.log.child('client');
  }

  /**
   * The app id a TLS client is certified for. The CN of its certificate must equal the CN of the CSR
   * it names, so a certificate issued to app A can never register as app B. Throws `identity-mismatch`.
   */
  certifiedAppId(certificateCn: unknown, csr: string | undefined, query: ClientQuery): string {
    if (typeof certificateCn !== 'string' || certificateCn === '') {
      throw new HostError('identity-mismatch', 'The client certificate has no CN; redo the certificate exchange.');
    }
    if (csr === undefined) return certificateCn; // sdk_version < 3 sends no CSR: the certificate alone names the app
    const claimed = csrCommonName(csr);
    if (claimed !== certificateCn) {
      this.log.warn('refused a secure connection whose certificate belongs to another app', { app: query.app, certificateCn, claimed });
      throw new HostError('identity-mismatch', `The client certificate was issued to "${certificateCn}" but the connection names app "${claimed ?? '(unreadable CSR)'}".`);
    }
    return certificateCn;
  }

  connect(request: AppConnectionRequest): ConnectedApp {
    const { query, channel } = request;
    this.diagnostics.secureAttempt(query);
    this.diagnostics.connectionAttempt(query);
    const app = new ConnectingApp(query, this.registry, this.log);
    this.register(request, (created) => app.adopt(created)).catch((error: unknown) => {
      this.log.warn('could not register the app; closing its connection', { app: query.app, os: query.os, device: query.device, error: describeError(error) });
      channel.close();
    });
    return app;
  }

  private async register(request: AppConnectionRequest, adopt: (session: AppSession) => void): Promise<void> {
    // Let the transport finish handing over the connection (and report an immediate close) before registering.
    await Promise.resolve();
    const query = { ...request.query };
    // A platform may mark the app's name (old Android SDKs); the core asks instead of testing the OS.
    for (const transport of this.deviceTransports ?? []) {
      const name = transport.secureAppName?.(query);
      if (name !== undefined) {
        query.app = name;
        break;
      }
    }
    const resolvers = (this.deviceTransports ?? []).filter((t) => t.resolveSecureDeviceId);
    if (request.csr !== undefined && request.csrPath !== undefined && resolvers.length > 0) {
      const csr = await parseCsrCached(request.csr);
      for (const transport of resolvers) {
        const resolved = await transport.resolveSecureDeviceId?.(query, csr, request.csrPath);
        if (resolved !== undefined) {
          query.deviceId = resolved;
          break;
        }
      }
    }
    const session = new AppSession(clientIdOf(query), query, request.appId, request.channel, this.sessionEvents, this.sessionLog, DEFAULT_REQUEST_TIMEOUT_MS, this.config.limits.maxPendingRequests);
    // Messages from here on reach the session at once: legacy SDKs answer the registration requests by fire-and-forget.
    adopt(session);
    if (session.isClosed) return;
    await this.registry.connect(session);
    if (!session.isClosed) this.diagnostics.sessionEstablished(request.query);
  }
}

/**
 * A connection on its way to becoming a session, and then its link to it: messages that arrive before
 * the session exists are queued (bounded), and an app that leaves first is never registered. A class
 * rather than closures, and nothing kept once adopted but the session: this lives as long as the app
 * stays connected. It must not keep the request, whose CSR text (about 1 KB) would stay in memory.
 */
class ConnectingApp implements ConnectedApp {
  private session: AppSession | undefined;
  private isClosed = false;
  private early: string[] | undefined = [];
  private dropped = 0;
  /** For the log line about dropped early messages; released once the session exists. */
  private query: ClientQuery | undefined;

  constructor(
    query: ClientQuery,
    private readonly registry: ClientRegistry,
    private readonly log: Logger,
  ) {
    this.query = query;
  }

  adopt(created: AppSession): void {
    this.session = created;
    const early = this.early ?? [];
    this.early = undefined;
    this.query = undefined;
    if (this.isClosed) {
      // The app left before it was registered: drop what it sent instead of acting on it.
      this.registry.disconnect(created);
      return;
    }
    for (const message of early) created.receive(message);
  }

  receive(text: string): void {
    if (this.session) this.session.receive(text);
    else if (this.early && this.early.length < MAX_EARLY_MESSAGES) this.early.push(text);
    else if (this.dropped++ === 0) {
      const { app, os, device } = this.query ?? {};
      this.log.warn(`dropped messages the app sent before its registration finished: more than ${MAX_EARLY_MESSAGES} arrived first`, { app, os, device });
    }
  }

  closed(): void {
    this.isClosed = true;
    if (this.session) this.registry.disconnect(this.session);
  }
}
