import { once } from 'node:events';
import { WebSocket } from 'ws';
import { type ExchangeLink, type HostCallHandlers, type SecureLink, type TlsMaterial } from './links.js';

/** Opens a WebSocket and waits for it to be open; connect errors keep their `code` (ECONNREFUSED, ERR_SSL_…). */
async function open(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  const socket = new WebSocket(url, { ...options, perMessageDeflate: false, handshakeTimeout: 10_000 });
  socket.on('error', () => undefined); // reported through open() or the close event
  await Promise.race([once(socket, 'open'), once(socket, 'error').then(([error]) => Promise.reject(error))]);
  return socket;
}

/** The WebSocket-era exchange: the first message received after `signCertificate` is the answer (docs/protocol-websocket.md, "Certificate exchange"). */
export async function openWebSocketExchange(host: string, port: number, query: string): Promise<ExchangeLink> {
  const socket = await open(`ws://${host}:${port}?${query}`);
  // Listened for from the start: a host that refuses the query closes right after the upgrade, before
  // the request is sent, and a close nobody awaited would leave the exchange waiting on nothing.
  const closed = once(socket, 'close').then(([code, reason]) => {
    const why = String(reason ?? '');
    throw new Error(`the host closed the exchange connection without answering (${String(code)}${why ? ` ${why}` : ''})`);
  });
  closed.catch(() => undefined); // awaited by request(); never an unhandled rejection when no request follows
  return {
    request: async (data) => {
      const answer = once(socket, 'message');
      if (socket.readyState === WebSocket.OPEN) socket.send(data);
      const [message] = (await Promise.race([answer, closed])) as [Buffer];
      return message.toString();
    },
    notify: (data) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(data);
    },
    close: () => socket.close(1000),
  };
}

// Passed through to tls.connect, whose contract is "undefined when fine" (the ws typings say boolean).
const noHostNameCheck = (() => undefined) as unknown as () => boolean;

/** The WebSocket-era secure connection: one JSON object per text frame; a numeric id expects an answer with that id. */
export async function openWebSocketSecure(host: string, port: number, material: TlsMaterial, query: string, handlers: HostCallHandlers): Promise<SecureLink> {
  // The SDKs check the chain against sonarCA.crt, not the host name.
  const socket = await open(`wss://${host}:${port}?${query}`, { key: material.key, cert: material.cert, ca: material.ca, rejectUnauthorized: true, checkServerIdentity: noHostNameCheck });
  const send = (message: Record<string, unknown>) => socket.send(JSON.stringify(message));
  socket.on('message', (data) => {
    const text = data.toString();
    let parsed: { id?: unknown; method?: unknown; params?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      return;
    }
    if (typeof parsed.id === 'number') {
      const id = parsed.id;
      void handlers.request(parsed.method, parsed.params).then((answer) => send({ id, ...answer }));
    } else {
      handlers.message(text);
    }
  });
  let error: Error | undefined;
  socket.on('error', (e) => (error ??= e));
  const closed = once(socket, 'close').then(([code, reason]) => error ?? (code === 1000 || code === 1005 ? undefined : new Error(`closed with ${String(code)} ${String(reason)}`)));
  return { send, close: () => socket.close(1000), closed };
}
