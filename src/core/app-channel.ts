/**
 * What a transport gives the core for one secure app connection: JSON texts in and out. RSocket maps
 * these to REQUEST_RESPONSE / REQUEST_FNF frames; WebSocket to text frames with ids.
 */
export interface AppChannel {
  /**
   * Sends a request (`data` is the JSON text, `id` its id field) and resolves with the app's answer
   * text; rejects when the transport fails. RSocket correlates by stream, WebSocket by `id`.
   */
  requestResponse(id: number, data: string): Promise<string>;
  fireAndForget(data: string): void;
  close(): void;
}
