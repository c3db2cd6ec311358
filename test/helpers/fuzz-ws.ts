import { WebSocket } from 'ws';

/** One WebSocket conversation with a fuzz host: what happened, within a deadline. */
export interface WsOutcome {
  /** The ws client refused the URL itself (not a host behaviour). */
  invalidUrl?: string;
  opened: boolean;
  /** HTTP status of a refused upgrade (401 on the browser port for a foreign Origin, 400, …). */
  httpStatus?: number;
  closed: boolean;
  closeCode?: number;
  received: string[];
  /** `until` was satisfied before the deadline. */
  satisfied: boolean;
  ms: number;
}

export interface WsConversation {
  url: string;
  origin?: string;
  tls?: { key: string; cert: string; ca: string };
  /** Sent once open, in order: strings as text frames, Uint8Arrays as binary frames. */
  messages: Array<string | Uint8Array>;
  until?: (received: string[]) => boolean;
  /**
   * Send a ping after the messages and stop at its pong (the host parses frames in order, so every
   * message was handled by then), unless `until` is given and not yet satisfied.
   */
  pingAfter?: boolean;
  /** Keep listening this long once satisfied (to see that nothing more comes). */
  lingerMs?: number;
  /** Called for each text frame from the host, with a way to answer it. */
  onMessage?: (text: string, send: (data: string) => void) => void;
  waitMs: number;
}

// tls.connect's contract is "undefined when fine" (the ws typings say boolean).
const noHostNameCheck = (() => undefined) as unknown as () => boolean;

/** Runs one conversation; the socket is always terminated before this returns. */
export async function wsConverse(c: WsConversation): Promise<WsOutcome> {
  const started = Date.now();
  let socket: WebSocket;
  try {
    socket = new WebSocket(c.url, {
      origin: c.origin,
      perMessageDeflate: false,
      handshakeTimeout: c.waitMs,
      ...(c.tls ? { key: c.tls.key, cert: c.tls.cert, ca: c.tls.ca, rejectUnauthorized: true, checkServerIdentity: noHostNameCheck } : {}),
    });
  } catch (error) {
    return { invalidUrl: (error as Error).message, opened: false, closed: true, received: [], satisfied: false, ms: 0 };
  }
  const outcome: WsOutcome = { opened: false, closed: false, received: [], satisfied: false, ms: 0 };
  let wake: () => void = () => undefined;
  socket.on('error', () => {
    outcome.closed = true;
    wake();
  });
  socket.on('unexpected-response', (request, response) => {
    outcome.httpStatus = response.statusCode;
    outcome.closed = true;
    request.destroy();
    wake();
  });
  socket.on('close', (code) => {
    outcome.closed = true;
    outcome.closeCode = code;
    wake();
  });
  socket.on('message', (data, isBinary) => {
    const text = isBinary ? `<binary ${(data as Buffer).length}>` : data.toString();
    outcome.received.push(text);
    c.onMessage?.(text, (answer) => socket.send(answer, () => undefined));
    check();
    wake();
  });
  let ponged = false;
  const check = () => {
    if (c.until ? c.until(outcome.received) && (!c.pingAfter || ponged) : c.pingAfter && ponged) outcome.satisfied = true;
  };
  socket.on('pong', () => {
    ponged = true;
    check();
    wake();
  });
  socket.on('open', () => {
    outcome.opened = true;
    for (const message of c.messages) socket.send(message, { binary: typeof message !== 'string' }, () => undefined);
    if (c.pingAfter) socket.ping(undefined, undefined, () => undefined);
    wake();
  });
  const deadline = started + c.waitMs;
  try {
    while (!outcome.closed && !outcome.satisfied && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(1, deadline - Date.now())).unref();
      });
    }
    if (outcome.satisfied && c.lingerMs) await new Promise((resolve) => setTimeout(resolve, c.lingerMs));
    outcome.ms = Date.now() - started;
    return outcome;
  } finally {
    socket.terminate();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
