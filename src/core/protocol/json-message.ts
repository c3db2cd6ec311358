import { HostError } from '../host-error.js';

/** Parses a JSON object from a frame or SETUP payload; anything else is a `protocol-invalid` error. */
export function parseJsonObject(text: unknown, what: string): Record<string, unknown> {
  if (typeof text !== 'string' || text.length === 0) throw new HostError('protocol-invalid', `${what} is empty; expected a JSON object.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HostError('protocol-invalid', `${what} is not valid JSON (${(error as Error).message}).`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HostError('protocol-invalid', `${what} must be a JSON object.`);
  return value as Record<string, unknown>;
}

/** Host → app request of the plugin protocol. */
export interface PluginRequest {
  id: number;
  method: string;
  params?: unknown;
}

/** The SDKs answer `{"success": …}` or `{"error": {message, name?, stacktrace?}}`. */
export type PluginResponse = { success: unknown } | { error: unknown };

/** Turns a response into its success value, or an Error carrying the app's message. */
export function unwrapResponse(response: Record<string, unknown>, method: string): unknown {
  if ('success' in response) return response.success;
  if ('error' in response) throw new AppResponseError(method, response.error);
  throw new HostError('protocol-invalid', `The app answered ${method} with neither "success" nor "error".`);
}

/** An error answer from the app, with the app's error object kept as it was sent. */
export class AppResponseError extends Error {
  override readonly name = 'AppResponseError';
  constructor(
    readonly method: string,
    readonly appError: unknown,
  ) {
    const message = typeof appError === 'object' && appError !== null && typeof (appError as { message?: unknown }).message === 'string'
      ? (appError as { message: string }).message
      : JSON.stringify(appError);
    super(`The app answered ${method} with an error: ${message}`);
  }
}
