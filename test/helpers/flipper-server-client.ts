import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const FLIPPER_SERVER_CLIENT_VERSION = '0.273.0';
const CACHE = fileURLToPath(new URL(`../../../node_modules/.cache/sonarhost-interop/flipper-server-client-${FLIPPER_SERVER_CLIENT_VERSION}`, import.meta.url));
const PACKAGE = join(CACHE, 'node_modules', 'flipper-server-client');

/** The parts of flipper-server-client a headless tool uses. */
export interface FlipperServerClientModule {
  createFlipperServer(host: string, port: number, tokenProvider: () => string | null, onStateChange: (state: number) => void): Promise<FlipperServerLike>;
  createFlipperServerWithSocket(socket: unknown, port: number, onStateChange: (state: number) => void): Promise<FlipperServerLike>;
  FlipperServerState: { CONNECTING: number; CONNECTED: number; DISCONNECTED: number };
}

/** reconnecting-websocket, the socket flipper-server-client wraps (its own dependency). */
export type ReconnectingWebSocketClass = new (url: string | (() => string), protocols?: string[], options?: Record<string, unknown>) => { close(): void };

export interface FlipperServerLike {
  exec(command: string, ...args: unknown[]): Promise<unknown>;
  on(event: string, callback: (payload: unknown) => void): void;
  close(): void;
}

/** Installs flipper-server-client from npm once (cached under node_modules/.cache) and loads it. */
export async function loadFlipperServerClient(): Promise<FlipperServerClientModule> {
  if (!existsSync(join(PACKAGE, 'package.json'))) {
    await mkdir(CACHE, { recursive: true });
    await promisify(execFile)('npm', ['install', '--prefix', CACHE, '--no-save', '--no-audit', '--no-fund', `flipper-server-client@${FLIPPER_SERVER_CLIENT_VERSION}`], { timeout: 300_000 });
  }
  return createRequire(join(CACHE, 'package.json'))('flipper-server-client') as FlipperServerClientModule;
}

export function loadReconnectingWebSocket(): ReconnectingWebSocketClass {
  const loaded = createRequire(join(CACHE, 'package.json'))('reconnecting-websocket') as { default?: ReconnectingWebSocketClass } & ReconnectingWebSocketClass;
  return loaded.default ?? loaded;
}
