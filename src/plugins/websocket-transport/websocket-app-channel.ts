import { type WebSocket } from 'ws';
import { type AppChannel, type ChannelRequest, answerOrAbort } from '../../core/app-channel.js';
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

  get pendingRequests(): number {
    return this.pending.size;
  }

  requestResponse(id: number, data: string, cancel: AbortSignal): Promise<string> {
    return answerOrAbort(() => this.startRequest(id, data), cancel);
  }

  /** Cancelling drops the id, so an app that never answers cannot grow the map. */
  startRequest(id: number, data: string): ChannelRequest {
    let entry: { resolve: (text: string) => void; reject: (error: Error) => void } | undefined;
    const answer = new Promise<string>((resolve, reject) => {
      const mine = { resolve, reject };
      entry = mine;
      this.pending.set(id, mine);
      this.socket.send(data, (error) => {
        if (error && this.pending.get(id) === mine) {
          this.pending.delete(id);
          reject(error);
        }
      });
    });
    return {
      answer,
      cancel: (reason) => {
        if (!entry || this.pending.get(id) !== entry) return;
        this.pending.delete(id);
        entry.reject(reason);
      },
    };
  }

  fireAndForget(data: string): void {
    this.socket.send(data, () => undefined);
  }

  close(): void {
    this.socket.close(1000);
  }

  private handle(text: string): void {
    let id: unknown = replyId(text);
    if (id === undefined) {
      try {
        id = parseJsonObject(text, 'A message from the app').id;
      } catch {
        this.onMessage(text); // the session logs malformed messages; the connection stays open
        return;
      }
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
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const request of waiting) request.reject(new HostError('client-disconnected', message));
  }
}

/** `{"id":<digits>` followed by `,` or `}`: how js-flipper and the bench's SDK-shaped apps start a reply. */
const REPLY_PREFIX = /^\{"id":(\d{1,15})[,}]/;

/**
 * The id of a reply written `{"id":N,…}`, read without parsing the frame: the session parses each
 * answer anyway, and the profile of host→app calls showed every reply parsed twice. Any other shape
 * (other key order, spaces) is parsed here as before.
 */
function replyId(text: string): number | undefined {
  const match = REPLY_PREFIX.exec(text);
  return match === null ? undefined : Number(match[1]);
}
