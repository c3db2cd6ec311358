import { type Disposable, toDisposable } from './disposable.js';

/**
 * Bytes the host holds for one reader beyond what the kernel's socket buffers took (a few thousand
 * ordinary events) before the reader is dropped.
 */
export const MAX_READER_BUFFER_BYTES = 2 * 1024 * 1024;

/** One connection the host writes a stream to: an HTTP response, a WebSocket. */
export interface ReaderSink {
  /** Bytes written but not yet taken by the reader (`writableLength`, `bufferedAmount`). */
  readonly unreadBytes: number;
  write(text: string): void;
  /** Ends the connection at once, without waiting for unread data. */
  drop(): void;
}

/**
 * The slow-reader rule every streaming face shares: before each write, look at what the reader has not
 * yet taken; a reader more than `maxUnreadBytes` behind (a stalled browser tab, a paused pipe, a tool
 * that stopped reading) is dropped once instead of making the host buffer everything for it. So the
 * host holds at most the limit plus one message per reader.
 */
export class BoundedReader {
  private dropped = false;
  /** The most this reader had unread after a write. */
  peakUnreadBytes = 0;

  constructor(
    private readonly sink: ReaderSink,
    private readonly maxUnreadBytes: number,
    private readonly onDrop: (unreadBytes: number) => void,
  ) {}

  get isDropped(): boolean {
    return this.dropped;
  }

  /** Writes, unless the reader was dropped (now or before); false when nothing was written. */
  send(text: string): boolean {
    if (this.dropped) return false;
    const unread = this.sink.unreadBytes;
    if (unread > this.maxUnreadBytes) {
      this.dropped = true;
      this.onDrop(unread);
      this.sink.drop();
      return false;
    }
    this.sink.write(text);
    if (this.sink.unreadBytes > this.peakUnreadBytes) this.peakUnreadBytes = this.sink.unreadBytes;
    return true;
  }
}

/** One message to many bounded readers: each is written to in turn, the slow ones dropped by their own rule. */
export class BoundedFanout<R extends BoundedReader = BoundedReader> {
  private readonly readers = new Set<R>();

  get size(): number {
    return this.readers.size;
  }

  all(): R[] {
    return [...this.readers];
  }

  /** Adds a reader; the Disposable removes it (call it when the connection closes). */
  add(reader: R): Disposable {
    this.readers.add(reader);
    return toDisposable(() => void this.readers.delete(reader));
  }

  publish(text: string): void {
    for (const reader of this.readers) reader.send(text);
  }
}
