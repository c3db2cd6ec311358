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
  /**
   * Optional: the same request without an AbortSignal. A transport that offers it spares the session an
   * AbortController and its listeners per request, which were about a tenth of the host's CPU on the
   * tools' paths; the session uses requestResponse otherwise.
   */
  startRequest?(id: number, data: string): ChannelRequest;
  fireAndForget(data: string): void;
  close(): void;
  /** Requests sent and neither answered, failed nor cancelled (what the channel holds in memory). */
  readonly pendingRequests: number;
}

/** A request on its way to the app (AppChannel.startRequest). */
export interface ChannelRequest {
  /** The app's answer text; rejects when the transport fails, or with the reason once cancelled. */
  readonly answer: Promise<string>;
  /** Gives the request up: the channel forgets it at once (RSocket sends CANCEL) and `answer` rejects with `reason`. */
  cancel(reason: Error): void;
}

/** Starts a request on any channel: through startRequest when it has one, else requestResponse with an AbortController. */
export function startChannelRequest(channel: AppChannel, id: number, data: string): ChannelRequest {
  if (channel.startRequest) return channel.startRequest(id, data);
  const controller = new AbortController();
  return { answer: channel.requestResponse(id, data, controller.signal), cancel: (reason) => controller.abort(reason) };
}

/** requestResponse for a channel that implements startRequest: the signal's abort cancels the request. */
export function answerOrAbort(start: () => ChannelRequest, cancel: AbortSignal): Promise<string> {
  if (cancel.aborted) return Promise.reject(cancel.reason as Error);
  const started = start();
  const onAbort = () => started.cancel(cancel.reason as Error);
  cancel.addEventListener('abort', onAbort, { once: true });
  return started.answer.finally(() => cancel.removeEventListener('abort', onAbort));
}
