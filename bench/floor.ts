import { spawn } from 'node:child_process';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { profileArgs, stopChild, trackChild, withTimeout } from './processes.js';
import { type TlsMaterial } from './raw-app.js';

const SERVER = fileURLToPath(new URL('./floor-server.js', import.meta.url));
const ATTEMPT_TIMEOUT_MS = 20_000;
const noHostNameCheck = (() => undefined) as unknown as () => boolean;

export interface FloorServer {
  pid: number;
  /** TLS + client certificate, then server message, client answer, server message (newline-framed). */
  mtls(client: TlsMaterial): Promise<number>;
  /** The same over WebSocket on TLS with a client certificate (upgrade included). */
  wss(client: TlsMaterial): Promise<number>;
  /** Opens an mTLS client that stays idle once the server's first message arrived (the memory rows). */
  holdMtls(client: TlsMaterial): Promise<HeldClient>;
  /** The same over WebSocket on TLS. */
  holdWss(client: TlsMaterial): Promise<HeldClient>;
  /** How many raw TLS and WebSocket connections the floor server has open, by its own count. */
  openCounts(): Promise<{ tls: number; wss: number }>;
  stop(): Promise<void>;
}

export interface HeldClient {
  close(): void;
}

/**
 * The raw floor of a secure set-up (bench/floor-server.ts in its own process, as a host is), with the
 * host's server credentials. Each call returns the ms from opening the TCP connection until the
 * server's second message arrived: the same exchange of messages as a host's getPlugins answered.
 */
export async function startFloorServer(server: { key: string; cert: string; ca: string }, profile?: string, env: NodeJS.ProcessEnv = {}): Promise<FloorServer> {
  const child = spawn(process.execPath, [...profileArgs(profile), SERVER], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, FLOOR_KEY: server.key, FLOOR_CERT: server.cert, FLOOR_CA: server.ca },
  });
  trackChild(child, false);
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const ports = await withTimeout(
    new Promise<{ tls: number; wss: number; count: number }>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as { tls: number; wss: number; count: number }));
      child.once('exit', () => reject(new Error(`the floor server exited: ${output.slice(-500)}`)));
    }),
    15_000,
    'the floor server to listen',
  );
  // One way to open each kind of client, for the set-up measurements and the idle holds alike.
  const openMtls = (client: TlsMaterial) => {
    const socket = tls.connect({ host: '127.0.0.1', port: ports.tls, ...client, checkServerIdentity: () => undefined });
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    return socket;
  };
  const openWss = (client: TlsMaterial) => {
    const socket = new WebSocket(`wss://127.0.0.1:${ports.wss}/`, { ...client, perMessageDeflate: false, checkServerIdentity: noHostNameCheck });
    socket.on('error', () => undefined);
    return socket;
  };
  return {
    pid: child.pid!,
    mtls: async (client) => {
      const started = performance.now();
      const socket = openMtls(client);
      try {
        await withTimeout(
          new Promise<void>((resolve, reject) => {
            let lines = 0;
            socket.on('data', (d: Buffer) => {
              for (const byte of d) if (byte === 10 && ++lines === 1) socket.write('{"id":0,"success":{"plugins":["echo"]}}\n');
              if (lines >= 2) resolve();
            });
            socket.once('close', () => reject(new Error('the floor server closed the TLS connection')));
          }),
          ATTEMPT_TIMEOUT_MS,
          'the raw mTLS floor',
        );
        return performance.now() - started;
      } finally {
        socket.destroy();
      }
    },
    wss: async (client) => {
      const started = performance.now();
      const socket = openWss(client);
      try {
        await withTimeout(
          new Promise<void>((resolve, reject) => {
            let messages = 0;
            socket.on('message', () => {
              if (++messages === 1) socket.send('{"id":0,"success":{"plugins":["echo"]}}');
              else resolve();
            });
            socket.once('close', () => reject(new Error('the floor server closed the WebSocket')));
          }),
          ATTEMPT_TIMEOUT_MS,
          'the raw wss floor',
        );
        return performance.now() - started;
      } finally {
        socket.terminate();
      }
    },
    holdMtls: async (client) => {
      const socket = openMtls(client);
      await heldOnce(socket, 'data', () => socket.destroy(), 'an idle mTLS floor client');
      return { close: () => socket.destroy() };
    },
    holdWss: async (client) => {
      const socket = openWss(client);
      await heldOnce(socket, 'message', () => socket.terminate(), 'an idle wss floor client');
      return { close: () => socket.terminate() };
    },
    openCounts: async () => (await (await fetch(`http://127.0.0.1:${ports.count}/`)).json()) as { tls: number; wss: number },
    stop: async () => {
      await stopChild(child, { graceMs: 3000 });
    },
  };
}

/** Resolves on the server's first message; on close or timeout, closes the client and rejects. */
async function heldOnce(socket: tls.TLSSocket | WebSocket, event: 'data' | 'message', close: () => void, what: string): Promise<void> {
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once(event, () => resolve());
        socket.once('close', () => reject(new Error(`the floor server closed ${what}`)));
      }),
      ATTEMPT_TIMEOUT_MS,
      what,
    );
  } catch (error) {
    close();
    throw error;
  }
}
