import { createHash } from 'node:crypto';

/** Hex digits of a short id: 32 bits, so two of a few hundred connected clients practically never share one. */
export const SHORT_ID_LENGTH = 8;

/**
 * A short, URL-safe and stable name for a client id: the same app on the same device gets the same short
 * id on every connection, so scripts can keep it. The full id (`app#os#device#deviceId`) holds `#` and
 * percent-escapes, which need encoding twice over in a URL. A short id is only a convenience: whoever
 * resolves one must still refuse it when two connected clients share it (see the API's client lookup).
 */
export function clientShortId(clientId: string): string {
  return createHash('sha256').update(clientId).digest('hex').slice(0, SHORT_ID_LENGTH);
}
