import { type Payload, type ReactiveSocket } from 'rsocket-types';
import { type AppChannel } from '../../core/app-channel.js';
import { HostError } from '../../core/host-error.js';

/** The plugin protocol over one RSocket connection: REQUEST_RESPONSE and REQUEST_FNF with JSON data. */
export class RSocketAppChannel implements AppChannel {
  /** Each request still waiting, with how to fail it when the connection ends; none while idle (an empty Set still costs its table). */
  private pending: Set<(error: Error) => void> | undefined;
  private onClosed: (() => void) | undefined;
  private closed = false;

  /**
   * `whenConnectionEnds` calls its listener once the connection has closed or failed (the secure
   * server's is the SocketConnection's whenEnded: cheaper per idle client than a connectionStatus()
   * subscription, which costs rsocket-js a subscriber and three closures).
   */
  constructor(
    private readonly socket: ReactiveSocket<string, string>,
    whenConnectionEnds: (listener: () => void) => void,
  ) {
    // rsocket-js leaves a request-response unsettled when the app answers with a PAYLOAD without NEXT;
    // every request still waiting when the connection ends is failed here, and then the session is
    // told (whenClosed).
    whenConnectionEnds(() => {
      if (this.closed) return;
      for (const fail of [...(this.pending ?? [])]) fail(new HostError('client-disconnected', 'The app disconnected before answering.'));
      this.pending = undefined;
      this.closed = true;
      this.onClosed?.();
    });
  }

  /** Calls `listener` once the connection has ended, after the requests still waiting have failed. */
  whenClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.onClosed = listener;
  }

  get pendingRequests(): number {
    return this.pending?.size ?? 0;
  }

  requestResponse(_id: number, data: string, cancel: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      if (cancel.aborted) return reject(cancel.reason as Error);
      // rsocket-js keeps a receiver per stream until the app answers; cancelling the subscription drops
      // it and sends CANCEL, so the app can drop its side too.
      let cancelStream: () => void = () => undefined;
      const settle = () => {
        this.pending?.delete(fail);
        if (this.pending?.size === 0) this.pending = undefined;
        cancel.removeEventListener('abort', onAbort);
      };
      const fail = (error: Error) => {
        settle();
        reject(error);
      };
      const onAbort = () => {
        settle();
        cancelStream();
        reject(cancel.reason as Error);
      };
      (this.pending ??= new Set()).add(fail);
      cancel.addEventListener('abort', onAbort, { once: true });
      this.socket.requestResponse({ data, metadata: '' }).subscribe({
        onSubscribe: (cancelSubscription) => (cancelStream = cancelSubscription),
        onComplete: (payload: Payload<string, string>) => {
          settle();
          resolve(payload?.data ?? '');
        },
        onError: fail,
      });
    });
  }

  fireAndForget(data: string): void {
    this.socket.fireAndForget({ data, metadata: '' });
  }

  close(): void {
    this.socket.close();
  }
}
