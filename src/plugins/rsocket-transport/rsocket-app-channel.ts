import { type Payload, type ReactiveSocket } from 'rsocket-types';
import { type AppChannel } from '../../core/app-channel.js';
import { HostError } from '../../core/host-error.js';

/** The plugin protocol over one RSocket connection: REQUEST_RESPONSE and REQUEST_FNF with JSON data. */
export class RSocketAppChannel implements AppChannel {
  private readonly pending = new Set<(error: Error) => void>();

  constructor(private readonly socket: ReactiveSocket<string, string>) {
    // rsocket-js leaves a request-response unsettled when the app answers with a PAYLOAD without NEXT;
    // every request still waiting when the connection ends is failed here.
    socket.connectionStatus().subscribe({
      onNext: (status) => {
        if (status.kind !== 'CLOSED' && status.kind !== 'ERROR') return;
        for (const reject of this.pending) reject(new HostError('protocol-invalid', 'The app disconnected before answering.'));
        this.pending.clear();
      },
      onSubscribe: (subscription) => subscription.request(Number.MAX_SAFE_INTEGER),
    });
  }

  requestResponse(_id: number, data: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.pending.add(reject);
      const settle = () => this.pending.delete(reject);
      this.socket.requestResponse({ data, metadata: '' }).subscribe({
        onComplete: (payload: Payload<string, string>) => {
          settle();
          resolve(payload?.data ?? '');
        },
        onError: (error: Error) => {
          settle();
          reject(error);
        },
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
