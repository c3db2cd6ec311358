// One ADB stream (a "socket" in adb's terms) between the fake device and the adb server, with adb 29's
// flow control: a sender keeps at most one WRTE unacknowledged per stream and waits for the peer's OKAY
// before the next; a receiver answers every WRTE with OKAY once it has taken the data. CLSE closes
// both directions at once (adb streams have no half-close).

import { A_CLSE, A_OKAY, A_WRTE } from './adb-message.js';

/** What a channel needs from its transport connection. */
export interface ChannelTransport {
  send(command: number, arg0: number, arg1: number, data?: Buffer): void;
  /** Largest payload either side accepts (the smaller of the two CNXN maxdata values). */
  readonly maxPayload: number;
  /** Called once the channel is closed either way, so the connection forgets it. */
  forget(channel: AdbChannel): void;
}

interface PendingWrite {
  chunk: Buffer;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class ChannelClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelClosedError';
  }
}

export interface ChannelHandlers {
  /** Receives each WRTE payload; the OKAY goes back when the returned promise settles (backpressure). */
  onData?: (data: Buffer) => void | Promise<void>;
  /** The peer closed the stream (CLSE), or the transport went away (`error` set). */
  onClose?: (error?: Error) => void;
}

export class AdbChannel {
  private onData: (data: Buffer) => void | Promise<void> = () => undefined;
  private onClose: (error?: Error) => void = () => undefined;
  private readonly queue: PendingWrite[] = [];
  private inFlight: PendingWrite | undefined;
  private closed = false;
  private closing = false;
  private attached = false;
  private markAttached!: () => void;
  /** Deliveries run in order on this chain, which starts once handlers are attached: a WRTE and a
   *  CLSE can arrive in one TCP read, before whoever opened the stream had a chance to listen. */
  private incoming: Promise<void> = new Promise<void>((resolve) => (this.markAttached = resolve));
  private readonly drainWaiters: Array<() => void> = [];

  constructor(
    private readonly transport: ChannelTransport,
    readonly localId: number,
    public remoteId: number,
  ) {}

  /** Starts delivering incoming data and the close (held until now). Call once. */
  attach(handlers: ChannelHandlers): void {
    if (this.attached) throw new Error('ADB stream handlers are already attached');
    this.attached = true;
    if (handlers.onData) this.onData = handlers.onData;
    if (handlers.onClose) this.onClose = handlers.onClose;
    this.markAttached();
  }

  get isAttached(): boolean {
    return this.attached;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends `data` in as many WRTE messages as needed; resolves when the peer acknowledged them all. */
  write(data: Buffer | string): Promise<void> {
    const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (this.closed || this.closing) return Promise.reject(new ChannelClosedError('write on a closed ADB stream'));
    if (buffer.length === 0) return Promise.resolve();
    const acknowledged: Promise<void>[] = [];
    for (let offset = 0; offset < buffer.length; offset += this.transport.maxPayload) {
      const chunk = buffer.subarray(offset, offset + this.transport.maxPayload);
      acknowledged.push(new Promise<void>((resolve, reject) => this.queue.push({ chunk, resolve, reject })));
    }
    this.pump();
    return Promise.all(acknowledged).then(() => undefined);
  }

  /** Flushes what was written, then sends CLSE. Idempotent; resolves even if the peer closed first. */
  async end(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    if (this.queue.length > 0 || this.inFlight !== undefined) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
    if (this.closed) return;
    this.closed = true;
    this.transport.send(A_CLSE, this.localId, this.remoteId);
    this.transport.forget(this);
  }

  /** Sends CLSE now, dropping anything not yet acknowledged (an abrupt close, like a reset). */
  close(): void {
    if (this.closed) return;
    this.transport.send(A_CLSE, this.localId, this.remoteId);
    this.handleClose(new ChannelClosedError('ADB stream closed locally'), false);
  }

  private pump(): void {
    if (this.closed || this.inFlight !== undefined) return;
    const next = this.queue.shift();
    if (next === undefined) {
      for (const wake of this.drainWaiters.splice(0)) wake();
      return;
    }
    this.inFlight = next;
    this.transport.send(A_WRTE, this.localId, this.remoteId, next.chunk);
  }

  // --- called by the connection for messages addressed to this stream ---

  handleOkay(): void {
    const done = this.inFlight;
    this.inFlight = undefined;
    done?.resolve();
    this.pump();
  }

  handleWrite(data: Buffer): void {
    // Serialise deliveries: adb sends the next WRTE only after our OKAY, but keep order regardless.
    this.incoming = this.incoming.then(async () => {
      try {
        await this.onData(data);
      } catch {
        // A consumer failure must not wedge the stream; the service decides what to do with errors.
      }
      if (!this.closed) this.transport.send(A_OKAY, this.localId, this.remoteId);
    });
  }

  handleClose(error?: Error, notify = true): void {
    if (this.closed) return;
    this.closed = true;
    const reason = error ?? new ChannelClosedError('ADB stream closed by the peer');
    for (const pending of [...(this.inFlight ? [this.inFlight] : []), ...this.queue.splice(0)]) pending.reject(reason);
    this.inFlight = undefined;
    for (const wake of this.drainWaiters.splice(0)) wake();
    this.transport.forget(this);
    // After the data that arrived before the CLSE has been delivered.
    if (notify) this.incoming = this.incoming.then(() => this.onClose(error));
  }
}
