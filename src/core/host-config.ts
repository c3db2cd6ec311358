import { type LogLevel } from './logger.js';

/**
 * The effective, validated configuration. Loading and precedence (file < environment < flags) live in
 * the composition root; components receive this object, already checked.
 */
export const HostConfig = Symbol.for('sonarhost.HostConfig');

export interface HostConfig {
  /** Addresses the app-facing listeners bind to. Loopback by default. */
  host: string[];
  ports: { insecure: number; secure: number };
  /** WebSocket listeners (SDK v0.113+ and js-flipper); `false` turns one off. */
  webSocket: { insecure: number | false; secure: number | false; browser: number | false };
  /** The local HTTP API and dashboard, on loopback only; `false` turns it off. */
  api: { port: number | false };
  /** The flipper-server-compatible API for Flipper's UI and its clients, on loopback only; `false` turns it off. */
  flipperServer: { port: number | false };
  /** Folder holding ca.key, ca.crt, server.key, server.crt (and upstream's server.srl, if any). */
  certDir: string;
  logLevel: LogLevel;
  plugins: PluginSelection;
  limits: HostLimits;
  /** Free-form options per plugin id, read by that plugin only. */
  pluginOptions: Record<string, Record<string, unknown>>;
  /** The folder of the config file, if one was read: relative paths in pluginOptions are meant from there. */
  configDir?: string;
}

/** Each entry is a built-in plugin id or a module specifier (path or package name). */
export interface PluginSelection {
  certificateStore: string;
  exchange: string;
  transports: string[];
  deviceTransports: string[];
  connectionHandlers: string[];
  /** Other services (the HTTP API, …). */
  services: string[];
}

export interface HostLimits {
  maxCsrBytes: number;
  /** Largest frame or message from an app that completed its handshake (RSocket's format allows 16 MiB). */
  maxFrameBytes: number;
  /** Largest frame or message before that (SETUP, signCertificate). */
  maxUnauthenticatedFrameBytes: number;
  maxUnauthenticatedConnections: number;
  maxUnauthenticatedPerSource: number;
  /** How long a connection may stay unauthenticated (exchange connections never authenticate). */
  unauthenticatedLifetimeMs: number;
  exchangesPerMinutePerSource: number;
  /** Host → app requests waiting for an answer, per connection. */
  maxPendingRequests: number;
  /** Largest message from a browser-port client (any local process can be one: it proves nothing). */
  maxBrowserFrameBytes: number;
  /** Browser-port clients connected at once. */
  maxBrowserConnections: number;
}
