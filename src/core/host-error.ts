/**
 * The one error family of sonarhost. `kind` is stable and machine-readable (tests and the API match on
 * it); `message` says what happened and what to do about it, because it reaches users and apps.
 */
export type HostErrorKind =
  // configuration and plugin loading
  | 'config-invalid'
  | 'plugin-invalid'
  // certificate authority on disk
  | 'ca-unreadable'
  | 'cert-dir-unwritable'
  | 'cert-dir-locked'
  /** Another host is running for the same certificate folder. */
  | 'folder-in-use'
  // CSR checks on the signing path
  | 'csr-too-large'
  | 'csr-not-pem'
  | 'csr-malformed'
  | 'csr-bad-signature'
  | 'csr-bad-common-name'
  | 'csr-weak-key'
  // certificate exchange and device transports
  | 'exchange-invalid-request'
  | 'exchange-unsupported'
  | 'destination-refused'
  | 'device-not-found'
  | 'device-unavailable'
  // connections and the plugin protocol
  | 'protocol-invalid'
  /** The app's connection closed (or was closed) while something waited for it. */
  | 'client-disconnected'
  /** Too many requests waiting for an app's answers; the app has not caught up. */
  | 'too-many-pending'
  /** A source asked for more than its share (certificate exchanges per minute). */
  | 'rate-limited'
  | 'identity-mismatch'
  /** No connected client has the name a caller gave, or several have it (see ClientLookupError). */
  | 'no-such-client'
  | 'ambiguous-client'
  | 'timeout'
  | 'internal';

/** Marks HostErrors made by any installed copy of sonarhost (a plugin may bring its own copy). */
const BRAND = Symbol.for('sonarhost.HostError');

export class HostError extends Error {
  override readonly name = 'HostError';

  constructor(
    readonly kind: HostErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * `instanceof HostError` holds for a HostError from another copy too, so its kind and message reach the
   * app. Subclasses inherit this method: for them it stays the ordinary prototype test, or every HostError
   * would pass for every subclass (an IosDeviceError without a state, an AfcError without a code).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== HostError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  static is(error: unknown, kind?: HostErrorKind): error is HostError {
    return error instanceof HostError && (kind === undefined || error.kind === kind);
  }
}

/** A readable one-line description of anything thrown, for logs and error frames. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
