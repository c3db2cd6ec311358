import { type AppChannel } from '../../core/app-channel.js';
import { type RSocketServerConnection } from './rsocket-server-connection.js';

/** The plugin protocol over one RSocket connection: REQUEST_RESPONSE and REQUEST_FNF with JSON data. */
export class RSocketAppChannel implements AppChannel {
  constructor(private readonly connection: RSocketServerConnection) {}

  get pendingRequests(): number {
    return this.connection.pendingRequests;
  }

  requestResponse(_id: number, data: string, cancel: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      if (cancel.aborted) return reject(cancel.reason as Error);
      // The connection fails the request itself when it ends; on abort it forgets the request and sends
      // CANCEL, so that an app that never answers does not make the host hold it.
      const onAbort = () => {
        this.connection.cancel(streamId);
        reject(cancel.reason as Error);
      };
      const streamId = this.connection.requestResponse(data, {
        resolve: (answer) => {
          cancel.removeEventListener('abort', onAbort);
          resolve(answer);
        },
        reject: (error) => {
          cancel.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      if (streamId !== 0) cancel.addEventListener('abort', onAbort, { once: true });
    });
  }

  fireAndForget(data: string): void {
    this.connection.fireAndForget(data);
  }

  close(): void {
    this.connection.close();
  }
}
