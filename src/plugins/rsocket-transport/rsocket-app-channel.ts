import { type Payload, type ReactiveSocket } from 'rsocket-types';
import { type AppChannel } from '../../core/app-channel.js';

/** The plugin protocol over one RSocket connection: REQUEST_RESPONSE and REQUEST_FNF with JSON data. */
export class RSocketAppChannel implements AppChannel {
  constructor(private readonly socket: ReactiveSocket<string, string>) {}

  requestResponse(_id: number, data: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.socket.requestResponse({ data, metadata: '' }).subscribe({
        onComplete: (payload: Payload<string, string>) => resolve(payload.data ?? ''),
        onError: (error: Error) => reject(error),
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
