import { type AppSession } from '../../core/app-session.js';
import { HostError, describeError } from '../../core/host-error.js';
import { AppResponseError } from '../../core/protocol/json-message.js';

/** What went wrong, for scripts: each kind has one HTTP status, and the WebSocket API sends the same kinds. */
export type ApiErrorKind =
  | 'bad-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'body-too-large'
  | 'no-such-client'
  | 'ambiguous-client'
  /** The app answered with an error; `error` holds the app's own error object. */
  | 'app-error'
  | 'timeout'
  | 'client-disconnected'
  | 'too-many-pending'
  | 'internal';

const STATUS: Record<ApiErrorKind, number> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'body-too-large': 413,
  'no-such-client': 404,
  'ambiguous-client': 409,
  'app-error': 502,
  timeout: 504,
  'client-disconnected': 503,
  'too-many-pending': 429,
  internal: 500,
};

/** An expected failure of an API request: answered as `{kind, error, ...details}` with the kind's status. */
export class ApiProblem extends Error {
  readonly status: number;

  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = STATUS[kind];
  }

  /** The answer body. For an app's own error, `error` is the app's error object, as the app sent it. */
  body(): Record<string, unknown> {
    return { kind: this.kind, error: this.message, ...this.details };
  }
}

/** Maps the ways a call to an app can fail onto API problems; anything unexpected stays an exception. */
export function callProblem(error: unknown, session: AppSession): ApiProblem | undefined {
  if (error instanceof AppResponseError) return new ApiProblem('app-error', describeError(error), { error: error.appError });
  if (HostError.is(error, 'timeout')) return new ApiProblem('timeout', describeError(error));
  if (HostError.is(error, 'too-many-pending')) return new ApiProblem('too-many-pending', describeError(error));
  // The transport may report a drop in its own words before the session hears of it.
  if (HostError.is(error, 'client-disconnected') || session.isClosed) return new ApiProblem('client-disconnected', `The app ${session.query.app} disconnected before it answered.`);
  return undefined;
}
