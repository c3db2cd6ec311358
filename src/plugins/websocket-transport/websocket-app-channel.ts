import { type WebSocket } from 'ws';
import { type AppChannel } from '../../core/app-channel.js';
import { HostError } from '../../core/host-error.js';
import { parseJsonObject } from '../../core/protocol/json-message.js';

/**
 * The plugin protocol over one WebSocket (docs/protocol-websocket.md, "Requests, answers and events"): one JSON object per text frame; a
 * numeric `id` correlates a reply with its request, anything else from the app is a message for the
 * session. Replies with unknown ids are ignored, as upstream does.
 */
export class WebSocketAppChannel implements AppChannel {
  private readonly pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();

  constructor(
    private readonly socket: WebSocket,
    private readonly onMessage: (text: string) => void,
  ) {
    socket.on('message', (data, isBinary) => this.handle(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString()));
    socket.on('close', () => this.failAll('The app disconnected.'));
  }

  requestResponse(id: number, data: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(data, (error) => {
        if (error) {
          this.pending.delete(id);
          reject(error);
        }
      });
    });
  }

  fireAndForget(data: string): void {
    this.socket.send(data, () => undefined);
  }

  close(): void {
    this.socket.close(1000);
  }

  private handle(text: string): void {
    let id: unknown;
    try {
      id = parseJsonObject(text, 'A message from the app').id;
    } catch {
      this.onMessage(text); // the session logs malformed messages; the connection stays open
      return;
    }
    if (typeof id === 'number') {
      const waiting = this.pending.get(id);
      this.pending.delete(id);
      waiting?.resolve(text);
      return;
    }
    this.onMessage(text);
  }

  private failAll(message: string): void {
    for (const waiting of this.pending.values()) waiting.reject(new HostError('protocol-invalid', message));
    this.pending.clear();
  }
}
