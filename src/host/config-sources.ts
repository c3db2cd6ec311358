import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { HostError } from '../core/host-error.js';
import { type HostConfig } from '../core/host-config.js';
import { LOG_LEVELS, type LogLevel } from '../core/logger.js';

/** Where a setting came from, for `sonarhost config` and for error messages. */
export type ConfigOrigin = 'default' | `file ${string}` | `env ${string}` | `flag --${string}`;

export const DEFAULT_CONFIG_FILE = 'sonarhost.config.json';

export function defaultConfig(): HostConfig {
  return {
    host: ['127.0.0.1', '::1'],
    ports: { insecure: 8089, secure: 8088 },
    webSocket: { insecure: 9089, secure: 9088, browser: 8333 },
    api: { port: 8090 },
    flipperServer: { port: 52342 },
    certDir: resolve(homedir(), '.sonar'),
    logLevel: 'info',
    plugins: {
      certificateStore: 'file-certificate-store',
      exchange: 'default-exchange',
      transports: ['rsocket', 'websocket'],
      deviceTransports: ['desktop', 'android', 'ios-simulator', 'ios-physical'],
      connectionHandlers: ['event-log'],
      services: ['http-api', 'flipper-server-api'],
    },
    limits: {
      maxCsrBytes: 16 * 1024,
      maxFrameBytes: 0xffffff,
      maxUnauthenticatedFrameBytes: 64 * 1024,
      maxUnauthenticatedConnections: 256,
      maxUnauthenticatedPerSource: 64,
      unauthenticatedLifetimeMs: 60_000,
      exchangesPerMinutePerSource: 120,
      maxPendingRequests: 1000,
      maxBrowserFrameBytes: 1024 * 1024,
      maxBrowserConnections: 32,
    },
    pluginOptions: {},
  };
}

export function configError(key: string, origin: string, expected: string, got: unknown): HostError {
  const shown = typeof got === 'string' ? JSON.stringify(got) : JSON.stringify(got) ?? String(got);
  return new HostError('config-invalid', `Invalid ${key} (from ${origin}): expected ${expected}, got ${shown}.`);
}

/** `~` and relative paths, resolved against the folder of the file (or the working directory). */
export function resolvePath(path: string, baseDir: string): string {
  if (path === '~' || path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

export function parsePort(value: unknown, key: string, origin: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw configError(key, origin, 'a port number from 1 to 65535', value);
  return n;
}

/** Upstream's `FLIPPER_PORTS` format: exactly "<insecure>,<secure>", e.g. "8089,8088". */
export function parsePortPair(value: string, key: string, origin: string): { insecure: number; secure: number } {
  const parts = value.split(',');
  if (parts.length !== 2 || parts.some((p) => !/^\s*\d+\s*$/.test(p))) {
    throw configError(key, origin, '"<insecure>,<secure>" such as "8089,8088"', value);
  }
  const insecure = parsePort(parts[0]!.trim(), key, origin);
  const secure = parsePort(parts[1]!.trim(), key, origin);
  if (insecure === secure) throw configError(key, origin, 'two different ports', value);
  return { insecure, secure };
}

export function parseHosts(value: unknown, key: string, origin: string): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((h) => typeof h !== 'string' || h.length === 0)) {
    throw configError(key, origin, 'a bind address or a list of them, such as "127.0.0.1" or ["127.0.0.1", "::1"]', value);
  }
  return list as string[];
}

export function parseLogLevel(value: unknown, key: string, origin: string): LogLevel {
  if (typeof value !== 'string' || !LOG_LEVELS.includes(value as LogLevel)) throw configError(key, origin, `one of ${LOG_LEVELS.join(', ')}`, value);
  return value as LogLevel;
}
