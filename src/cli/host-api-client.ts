import { WebSocket } from 'ws';

/** An error answer of the API: `kind` as the API documents it, the whole answer in `body`. */
export class ApiAnswerError extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** A host event, as the API sends it (see docs/api.md). */
export type ApiEvent = Record<string, unknown> & { type: string; at: string };

export interface EventFilter {
  /** Full id, short id, app id or app name. */
  client?: string;
  plugin?: string;
  events?: string[];
  /** Replay the host's recent events first. */
  recent?: boolean;
}

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * A client of the host's WebSocket API (`/api/ws`) for tools: many calls in flight on one connection,
 * each answer matched by id, and event subscriptions. Used by the CLI; benchmarks and scripts can use
 * it too (`dist/src/cli/host-api-client.js`).
 */
export class HostApiClient {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private readonly listeners = new Map<number, (event: ApiEvent) => void>();
  private closedError: Error | undefined;
  private readonly closeHandlers: Array<(error: Error) => void> = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.receive(data.toString()));
    ws.on('close', (code, reason) => this.closed(new Error(`the host closed the API connection (${code}${reason.length ? ': ' + reason.toString() : ''})`)));
    ws.on('error', (error) => this.closed(error));
  }

  /** Opens the connection; rejects with the socket's error (ECONNREFUSED when nothing listens). */
  static connect(wsUrl: string, credentials: string | { authorization: string }): Promise<HostApiClient> {
    // A token string is sent as a bearer token (scripts, benchmarks); the CLI passes a one-time proof instead.
    const authorization = typeof credentials === 'string' ? `Bearer ${credentials}` : credentials.authorization;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers: { authorization }, perMessageDeflate: false });
      ws.once('open', () => {
        ws.removeListener('error', reject);
        resolve(new HostApiClient(ws));
      });
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(new ApiAnswerError(`http-${res.statusCode}`, `the API refused the connection (${res.statusCode}): ${body}`, {})));
      });
    });
  }

  /** Sends `{id, type, ...fields}` and resolves with the answer's `result`, or rejects with ApiAnswerError. */
  request(type: string, fields: Record<string, unknown> = {}): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ ...fields, id, type }));
    });
  }

  /** A plugin-protocol request to a client: `call(app, 'execute', {api, method, params})`. */
  call(client: string, method: string, params?: unknown, timeoutMs?: number): Promise<unknown> {
    return this.request('call', { client, method, params, timeoutMs });
  }

  /** The plugin protocol's fire-and-forget `init` of one plugin of a client (what a UI sends when it opens the plugin). */
  async init(client: string, plugin: string): Promise<void> {
    await this.request('init', { client, plugin });
  }

  /** The devices each of the host's device transports knows (`{transport, devices, problem?}` each), as `GET /api/devices`. */
  devices(): Promise<Array<Record<string, unknown>>> {
    return this.request('devices') as Promise<Array<Record<string, unknown>>>;
  }

  clients(): Promise<Array<Record<string, unknown>>> {
    return this.request('clients') as Promise<Array<Record<string, unknown>>>;
  }

  /** Delivers matching events to `onEvent` until unsubscribed or closed; resolves once the host confirmed. */
  async subscribe(filter: EventFilter, onEvent: (event: ApiEvent) => void): Promise<() => Promise<void>> {
    const id = this.nextId;
    this.listeners.set(id, onEvent);
    try {
      await this.request('subscribe', { ...filter });
    } catch (error) {
      this.listeners.delete(id);
      throw error;
    }
    return async () => {
      this.listeners.delete(id);
      if (!this.closedError) await this.request('unsubscribe', { subscription: id });
    };
  }

  onClose(handler: (error: Error) => void): void {
    this.closeHandlers.push(handler);
  }

  close(): void {
    this.ws.close();
  }

  private receive(text: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (message.type === 'event') {
      this.listeners.get(message.subscription as number)?.(message.event as ApiEvent);
      return;
    }
    const waiting = this.waiting.get(message.id as number);
    if (!waiting) return;
    this.waiting.delete(message.id as number);
    if (message.type === 'result') waiting.resolve(message.result);
    else waiting.reject(new ApiAnswerError(String(message.kind), errorText(message), message));
  }

  private closed(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
    for (const handler of this.closeHandlers) handler(error);
  }
}

function errorText(message: Record<string, unknown>): string {
  const error = message.error;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
  return JSON.stringify(error);
}
