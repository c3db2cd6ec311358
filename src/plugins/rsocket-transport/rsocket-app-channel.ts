import { type Payload, type ReactiveSocket } from 'rsocket-types';
import { type AppChannel } from '../../core/app-channel.js';
import { HostError } from '../../core/host-error.js';

/** The plugin protocol over one RSocket connection: REQUEST_RESPONSE and REQUEST_FNF with JSON data. */
export class RSocketAppChannel implements AppChannel {
  /** Each request still waiting, with how to fail it when the connection ends; none while idle (an empty Set still costs its table). */
  private pending: Set<(error: Error) => void> | undefined;
  private onClosed: (() => void) | undefined;
  private closed = false;

  constructor(private readonly socket: ReactiveSocket<string, string>) {
    // rsocket-js leaves a request-response unsettled when the app answers with a PAYLOAD without NEXT;
    // every request still waiting when the connection ends is failed here. This is the connection's
    // only status subscription (each costs rsocket-js a handful of objects per idle client), so the
    // session's own end is told from here too (whenClosed).
    socket.connectionStatus().subscribe({
      onNext: (status) => {
        if ((status.kind !== 'CLOSED' && status.kind !== 'ERROR') || this.closed) return;
        for (const fail of [...(this.pending ?? [])]) fail(new HostError('client-disconnected', 'The app disconnected before answering.'));
        this.pending = undefined;
        this.closed = true;
        this.onClosed?.();
      },
      onSubscribe: (subscription) => subscription.request(Number.MAX_SAFE_INTEGER),
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
