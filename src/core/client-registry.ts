import { inject, injectable, multiInject, optional } from 'inversify';
import { type AppSession } from './app-session.js';
import { CertificateExchangeMedium } from './client-query.js';
import { clientShortId } from './client-short-id.js';
import { ConnectionHandler, type PluginEvent } from './connection-handler.js';
import { HostError, describeError } from './host-error.js';
import { type ClientInfo, HostEvents } from './host-events.js';
import { Logger } from './logger.js';

/**
 * The connected apps, by client id, and the bridge to the ConnectionHandlers. A new connection with
 * the id of a registered one replaces it (the old one is a zombie: the app reconnected before the host
 * noticed the drop). Every handler call is isolated: one failing handler never affects the others.
 */
@injectable()
export class ClientRegistry {
  private readonly sessions = new Map<string, AppSession>();
  /**
   * How many handlers (the first ones, in order) were told of each session's connect: only they hear of
   * its disconnect. A count, not a Set of handlers, because the list is fixed and a Set per idle client costs its table.
   */
  private readonly toldOfConnect = new WeakMap<AppSession, number>();
  private readonly log: Logger;

  constructor(
    @multiInject(ConnectionHandler) @optional() private readonly handlers: ConnectionHandler[] | undefined,
    @inject(HostEvents) private readonly events: HostEvents,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('clients');
  }

  list(): AppSession[] {
    return [...this.sessions.values()];
  }

  get(id: string): AppSession | undefined {
    return this.sessions.get(id);
  }

  /** Asks the app for its plugins, registers it, tells the handlers, and inits claimed background plugins. */
  async connect(session: AppSession): Promise<void> {
    await session.refreshPlugins();
    if (session.isClosed) return; // dropped while we were asking
    const zombie = this.sessions.get(session.id);
    if (zombie && zombie !== session && (zombie.appId !== session.appId || (uncertified(session) && !uncertified(zombie)))) {
      // The client id is built from names the app chooses; only the same certified app may take its place
      // (a browser-port client, medium NONE, names its app id itself and has no certificate behind it).
      this.log.warn('refused a connection that names the client id of another app', { client: session.id, certifiedFor: session.appId, registeredFor: zombie.appId });
      throw new HostError('identity-mismatch', `The client id ${session.id} belongs to a connected app certified as ${zombie.appId}, not ${session.appId}.`);
    }
    if (zombie && zombie !== session) {
      this.log.info('replacing a stale connection of the same client', { client: session.id });
      this.sessions.delete(session.id);
      this.events.emit({ type: 'client-disconnected', at: new Date().toISOString(), clientId: zombie.id });
      this.notify(zombie, 'onClientDisconnected');
      zombie.close();
    }
    this.sessions.set(session.id, session);
    this.events.emit({ type: 'client-connected', at: new Date().toISOString(), client: clientInfo(session) });
    this.log.info('client connected', { client: session.id, appId: session.appId, plugins: session.plugins(), sdkVersion: session.query.sdkVersion });
    this.toldOfConnect.set(session, 0);
    for (const [index, handler] of this.all().entries()) {
      // The app may leave while a handler awaits: later handlers must not hear of a dead connection.
      if (session.isClosed) return;
      this.toldOfConnect.set(session, index + 1);
      try {
        await handler.onClientConnected?.(session);
      } catch (error) {
        this.log.warn('a connection handler failed on connect', { handler: handler.id, error: describeError(error) });
      }
    }
    if (session.isClosed) return;
    this.initClaimedBackgroundPlugins(session, []);
  }

  /** Called by the transport when a connection closes or fails. */
  disconnect(session: AppSession): void {
    session.close();
    if (this.sessions.get(session.id) !== session) return; // already replaced
    this.sessions.delete(session.id);
    this.log.info('client disconnected', { client: session.id });
    this.events.emit({ type: 'client-disconnected', at: new Date().toISOString(), clientId: session.id });
    this.notify(session, 'onClientDisconnected');
  }

  dispatchEvent(session: AppSession, event: PluginEvent): void {
    if (this.events.listenerCount > 0) this.events.emit({ type: 'plugin-event', at: new Date().toISOString(), clientId: session.id, ...event });
    for (const handler of this.all()) {
      if (!safeClaims(handler, event.plugin)) continue;
      try {
        handler.onEvent?.(session, event);
      } catch (error) {
        this.log.warn('a connection handler failed on an event', { handler: handler.id, plugin: event.plugin, error: describeError(error) });
      }
    }
  }

  async refreshPlugins(session: AppSession): Promise<void> {
    const before = [...session.backgroundPlugins()];
    try {
      await session.refreshPlugins();
    } catch (error) {
      this.log.warn('could not refresh the plugins of a client', { client: session.id, error: describeError(error) });
      return;
    }
    this.initClaimedBackgroundPlugins(session, before);
  }

  closeAll(): void {
    for (const session of this.sessions.values()) this.disconnect(session);
  }

  private initClaimedBackgroundPlugins(session: AppSession, alreadyInitialised: readonly string[]): void {
    for (const plugin of session.backgroundPlugins()) {
      if (alreadyInitialised.includes(plugin)) continue;
      if (this.all().some((handler) => safeClaims(handler, plugin))) session.init(plugin);
    }
  }

  private notify(session: AppSession, hook: 'onClientDisconnected'): void {
    const told = this.toldOfConnect.get(session) ?? 0;
    this.toldOfConnect.delete(session);
    for (const handler of this.all().slice(0, told)) {
      try {
        handler[hook]?.(session);
      } catch (error) {
        this.log.warn('a connection handler failed', { handler: handler.id, hook, error: describeError(error) });
      }
    }
  }

  private all(): ConnectionHandler[] {
    return this.handlers ?? [];
  }
}

/** What the API and dashboard show of a client. */
export function clientInfo(session: AppSession): ClientInfo {
  const { query } = session;
  return {
    id: session.id,
    shortId: clientShortId(session.id),
    app: query.app,
    appId: session.appId,
    os: query.os,
    device: query.device,
    deviceId: query.deviceId,
    sdkVersion: query.sdkVersion,
    medium: query.medium,
    plugins: session.plugins(),
    backgroundPlugins: session.backgroundPlugins(),
    connectedSince: session.connectedAt.toISOString(),
  };
}

function uncertified(session: AppSession): boolean {
  return session.query.medium === CertificateExchangeMedium.NONE;
}

function safeClaims(handler: ConnectionHandler, plugin: string): boolean {
  try {
    return handler.claims(plugin);
  } catch {
    return false;
  }
}
