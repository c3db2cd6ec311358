import { WebSocket } from 'ws';

export interface Frame {
  event: string;
  payload: { id?: unknown; data?: unknown; event?: string; message?: string };
}

/** A raw client of the flipper-server framing, recording every frame, for tests. */
export class FlipperUiSocket {
  readonly frames: Frame[] = [];
  private nextId = 1;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      for (const wake of this.waiters) wake();
    });
    ws.on('close', () => {
      for (const wake of this.waiters) wake();
    });
  }

  static open(url: string, options: { headers?: Record<string, string>; origin?: string } = {}): Promise<FlipperUiSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      ws.once('open', () => resolve(new FlipperUiSocket(ws)));
      ws.once('error', reject);
    });
  }

  /** Sends one exec and waits for its answer frame (exec-response or exec-response-error). */
  async exec(command: string, ...args: unknown[]): Promise<Frame> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ event: 'exec', payload: { id, command, args } }));
    return this.waitFor((f) => (f.event === 'exec-response' || f.event === 'exec-response-error') && f.payload.id === id, `the answer to ${command}`);
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  serverEvents(name?: string): Array<{ event: string; data: unknown }> {
    return this.frames.filter((f) => f.event === 'server-event' && (name === undefined || f.payload.event === name)).map((f) => ({ event: f.payload.event!, data: f.payload.data }));
  }

  /** Waits (event-driven) for a frame matching `match`; rejects when the socket closes first or after a generous guard. */
  waitFor(match: (frame: Frame) => boolean, what: string, timeoutMs = 20_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.find(match);
        if (found) return finish(() => resolve(found));
        if (this.ws.readyState === WebSocket.CLOSED) return finish(() => reject(new Error(`the socket closed before ${what}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames).slice(-1500)}`))), timeoutMs);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        then();
      };
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The HTTP status of a WebSocket upgrade (101 when it opened). */
export function upgradeStatus(url: string, options: { headers?: Record<string, string>; origin?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    ws.once('error', (error) => (error.message.includes('Unexpected server response') ? undefined : reject(error)));
  });
}
