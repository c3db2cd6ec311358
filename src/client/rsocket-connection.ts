import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { RSocketClient } from 'rsocket-core';
import { type Payload, type ReactiveSocket, type Responder } from 'rsocket-types';
import { SocketConnection } from './rsocket-socket-connection.js';

export interface OpenedRSocket {
  socket: ReactiveSocket<string, string>;
  raw: net.Socket;
  client: RSocketClient<string, string>;
  /** Resolves when the connection ends, with the reason when there was one (an ERROR frame from the host, a TLS alert). */
  closed: Promise<Error | undefined>;
}

/** The SDKs' SETUP parameters: text/plain, keepalive 10 s, JSON identity in the data. */
export async function openRSocket(
  connectSocket: () => net.Socket,
  readyEvent: 'connect' | 'secureConnect',
  setupData: string,
  responder: Partial<Responder<string, string>>,
  keepAliveMs = 10_000,
): Promise<OpenedRSocket> {
  const raw = connectSocket();
  raw.setNoDelay(true);
  raw.on('error', () => undefined); // reported through the connection status; never an uncaught 'error'
  try {
    await Promise.race([once(raw, readyEvent), once(raw, 'error').then(([error]) => Promise.reject(error))]);
  } catch (error) {
    raw.destroy();
    throw error;
  }
  let connectionError: Error | undefined;
  const client = new RSocketClient<string, string>({
    errorHandler: (error) => (connectionError ??= error),
    setup: { keepAlive: keepAliveMs, lifetime: 2_147_483_647, dataMimeType: 'text/plain', metadataMimeType: 'text/plain', payload: { data: setupData } },
    transport: new SocketConnection(raw),
    responder,
  });
  const socket = await new Promise<ReactiveSocket<string, string>>((resolve, reject) => {
    client.connect().subscribe({ onComplete: resolve, onError: reject });
  });
  const closed = whenClosed(socket).then((error) => connectionError ?? error);
  return { socket, raw, client, closed };
}

export function connectTcp(host: string, port: number): () => net.Socket {
  return () => net.connect({ host, port });
}

export function connectTls(host: string, port: number, material: { key: string; cert: string; ca: string }): () => net.Socket {
  // The SDKs check the chain against sonarCA.crt but not the host name (docs/protocol-rsocket.md, "Ports and TLS").
  return () => tls.connect({ host, port, key: material.key, cert: material.cert, ca: material.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined });
}

export function requestResponse(socket: ReactiveSocket<string, string>, data: string): Promise<Payload<string, string>> {
  return new Promise((resolve, reject) => {
    socket.requestResponse({ data, metadata: '' }).subscribe({ onComplete: resolve, onError: reject });
  });
}

/** Resolves when the connection is closed or fails, with the error if there was one. */
export function whenClosed(socket: ReactiveSocket<string, string>): Promise<Error | undefined> {
  return new Promise((resolve) => {
    socket.connectionStatus().subscribe({
      onNext: (status) => {
        if (status.kind === 'CLOSED') resolve(undefined);
        else if (status.kind === 'ERROR') resolve(status.error);
      },
      onSubscribe: (subscription) => subscription.request(Number.MAX_SAFE_INTEGER),
    });
  });
}
