import { type AppChannel, type ChannelRequest, answerOrAbort } from '../../core/app-channel.js';
import { type RSocketServerConnection } from './rsocket-server-connection.js';

/** The plugin protocol over one RSocket connection: REQUEST_RESPONSE and REQUEST_FNF with JSON data. */
export class RSocketAppChannel implements AppChannel {
  constructor(private readonly connection: RSocketServerConnection) {}

  get pendingRequests(): number {
    return this.connection.pendingRequests;
  }

  requestResponse(id: number, data: string, cancel: AbortSignal): Promise<string> {
    return answerOrAbort(() => this.startRequest(id, data), cancel);
  }

  /** The connection fails the request itself when it ends; cancelling forgets it and sends CANCEL, so that an app that never answers does not make the host hold it. */
  startRequest(_id: number, data: string): ChannelRequest {
    let streamId = 0;
    let rejectAnswer: (error: Error) => void = () => undefined;
    const answer = new Promise<string>((resolve, reject) => {
      rejectAnswer = reject;
      streamId = this.connection.requestResponse(data, { resolve, reject });
    });
    return {
      answer,
      cancel: (reason) => {
        this.connection.cancel(streamId);
        rejectAnswer(reason);
      },
    };
  }

  fireAndForget(data: string): void {
    this.connection.fireAndForget(data);
  }

  close(): void {
    this.connection.close();
  }
}
