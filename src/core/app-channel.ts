/**
 * What a transport gives the core for one secure app connection: JSON texts in and out. RSocket maps
 * these to REQUEST_RESPONSE / REQUEST_FNF frames; WebSocket to text frames with ids.
 */
export interface AppChannel {
  /**
   * Sends a request (`data` is the JSON text, `id` its id field) and resolves with the app's answer
   * text; rejects when the transport fails. RSocket correlates by stream, WebSocket by `id`.
   * When `cancel` aborts (the session gave up: a timeout, a close), the channel forgets the request
   * at once (RSocket sends CANCEL) and rejects with the abort reason, so an app that never answers
   * cannot make the host hold one entry per request for as long as it stays connected.
   */
  requestResponse(id: number, data: string, cancel: AbortSignal): Promise<string>;
  fireAndForget(data: string): void;
  close(): void;
  /** Requests sent and neither answered, failed nor cancelled (what the channel holds in memory). */
  readonly pendingRequests: number;
}
