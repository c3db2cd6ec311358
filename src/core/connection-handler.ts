import { type ClientQuery } from './client-query.js';

/**
 * The contribution point for everything that works with connected apps (a UI, an API, a recorder).
 * Handlers see connects and disconnects, receive the events of the plugin ids they claim, and call
 * the app through `AppClient`. A handler cannot tell which transport a client came through.
 */
export const ConnectionHandler = Symbol.for('sonarhost.ConnectionHandler');

export interface ConnectionHandler {
  readonly id: string;
  /** Plugin ids whose events this handler wants; background plugins it claims are `init`ed on connect. */
  claims(pluginId: string): boolean;
  onClientConnected?(client: AppClient): void | Promise<void>;
  onClientDisconnected?(client: AppClient): void;
  onEvent?(client: AppClient, event: PluginEvent): void;
}

export interface PluginEvent {
  /** The plugin id (`api`). */
  plugin: string;
  method: string;
  params: unknown;
}

/** A registered app, as handlers see it. */
export interface AppClient {
  readonly id: string;
  readonly query: ClientQuery;
  /** The app id from the client certificate's CN (Android package, iOS bundle id). */
  readonly appId: string;
  readonly connectedAt: Date;
  plugins(): readonly string[];
  backgroundPlugins(): readonly string[];
  /** A plugin-protocol request (`{id, method, params}`), answered with its `success` value or rejected with its `error`. */
  request(method: string, params?: unknown, timeoutMs?: number): Promise<unknown>;
  /** `execute` on a plugin of the app. */
  call(plugin: string, method: string, params?: unknown): Promise<unknown>;
  isMethodSupported(plugin: string, method: string): Promise<boolean>;
  init(plugin: string): void;
  deinit(plugin: string): void;
}
