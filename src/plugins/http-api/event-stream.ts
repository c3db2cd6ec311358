import type * as http from 'node:http';
import { BoundedReader, MAX_READER_BUFFER_BYTES } from '../../core/bounded-fanout.js';
import { type Disposable, toDisposable } from '../../core/disposable.js';
import { type Logger } from '../../core/logger.js';
import { type EventFeed, type FedEvent } from '../../core/event-feed.js';
import { batchWritesThisTick } from '../../core/write-batching.js';

export { MAX_READER_BUFFER_BYTES };
const HEARTBEAT_MS = 15_000;

/**
 * The server-sent event readers of /api/events, each a BoundedReader: one more than `maxBufferedBytes`
 * behind (a stalled dashboard tab, a paused pipe) is dropped with one log line instead of making the
 * host buffer every event for it. Closed readers are released at once.
 */
export class EventStreams implements Disposable {
  private readonly readers = new Set<Disposable>();
  /** The most any reader had buffered after a write: bounded by maxBufferedBytes plus one event. */
  peakBufferedBytes = 0;

  constructor(
    private readonly feed: EventFeed,
    private readonly log: Logger,
    private readonly maxBufferedBytes = MAX_READER_BUFFER_BYTES,
  ) {}

  get readerCount(): number {
    return this.readers.size;
  }

  /** Serves one reader until it closes; `recent` first replays the kept events. */
  open(res: http.ServerResponse, recent: boolean): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-content-type-options': 'nosniff' });
    res.write(': connected\n\n');
    if (recent) for (const fed of this.feed.recent()) res.write(frame(fed));
    const bounded = new BoundedReader(
      {
        get unreadBytes() {
          return res.writableLength;
        },
        write: (text) => {
          batchWritesThisTick(res);
          res.write(text);
        },
        drop: () => void res.destroy(),
      },
      this.maxBufferedBytes,
      (unreadBytes) => this.log.warn('dropped an event-stream reader that fell behind', { unreadBytes, limit: this.maxBufferedBytes }),
    );
    const write = (text: string) => {
      bounded.send(text);
      if (bounded.peakUnreadBytes > this.peakBufferedBytes) this.peakBufferedBytes = bounded.peakUnreadBytes;
    };
    const subscription = this.feed.subscribe((fed) => write(frame(fed)));
    const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
    const reader = toDisposable(() => {
      clearInterval(heartbeat);
      void subscription.dispose();
      this.readers.delete(reader);
      if (!res.destroyed) res.end();
    });
    this.readers.add(reader);
    // The response's close, not the request's: a request closes once its (empty) body is read.
    res.once('close', () => void reader.dispose());
  }

  dispose(): void {
    for (const reader of [...this.readers]) void reader.dispose();
  }
}

function frame({ event, json }: FedEvent): string {
  return `event: ${event.type}\ndata: ${json}\n\n`;
}
