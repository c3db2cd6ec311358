import WebSocket from 'ws';

interface UiMessage {
  event?: string;
  payload?: { id?: number; data?: unknown; event?: string };
}

/**
 * flipper-server's UI WebSocket (`ws://localhost:<uiPort>/`, Host header localhost:<uiPort>), as its
 * UI uses it: `exec` commands answered by `exec-response` / `exec-response-error` with the same id,
 * and `server-event` pushes (client-connected, client-message, server-log, …).
 */
export class FlipperUi {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly listeners = new Set<(event: string, data: unknown) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw: WebSocket.RawData) => this.onMessage(raw.toString()));
    ws.on('close', () => {
      for (const { reject } of this.pending.values()) reject(new Error('the UI WebSocket closed'));
      this.pending.clear();
    });
  }

  /** `token`: for sonarhost's endpoint, which (unlike flipper-server 0.162) takes the API token as `?token=`. */
  static async connect(uiPort: number, token?: string): Promise<FlipperUi> {
    const ws = new WebSocket(`ws://127.0.0.1:${uiPort}/${token ? `?token=${token}` : ''}`, { headers: { Host: `localhost:${uiPort}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('error', () => undefined);
    return new FlipperUi(ws);
  }

  exec(command: string, args: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ event: 'exec', payload: { id, command, args } }));
    });
  }

  /** Server events (`client-connected`, `client-message`, …); returns an unsubscribe function. */
  onServerEvent(listener: (event: string, data: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.ws.close();
  }

  private onMessage(text: string): void {
    let message: UiMessage;
    try {
      message = JSON.parse(text) as UiMessage;
    } catch {
      return;
    }
    const payload = message.payload;
    if ((message.event === 'exec-response' || message.event === 'exec-response-error') && typeof payload?.id === 'number') {
      const entry = this.pending.get(payload.id);
      if (!entry) return;
      this.pending.delete(payload.id);
      if (message.event === 'exec-response') entry.resolve(payload.data);
      else entry.reject(new Error(String(payload.data).split('\n')[0]));
    } else if (message.event === 'server-event' && payload?.event) {
      for (const listener of this.listeners) listener(payload.event, payload.data);
    }
  }
}
