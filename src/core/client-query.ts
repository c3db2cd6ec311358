/**
 * Who an app says it is, from the SETUP payload (RSocket) or the URL query (WebSocket). Values are as
 * the SDK sent them; only `deviceId` may later be re-derived by a device transport.
 */
export interface ClientQuery {
  os: string;
  device: string;
  /** Human-readable app name (not the package id: that travels in the CSR's CN). */
  app: string;
  deviceId: string;
  sdkVersion: number;
  medium: CertificateExchangeMedium;
}

/** How certificates reach the app (upstream's `medium`). */
export enum CertificateExchangeMedium {
  FS_ACCESS = 1,
  WWW = 2,
  NONE = 3,
}

/**
 * Upstream's client id: `escape(app)#os#device#device_id`, with JavaScript's legacy `escape()`
 * applied to the app name only.
 */
export function clientIdOf(query: Pick<ClientQuery, 'app' | 'os' | 'device' | 'deviceId'>): string {
  return `${legacyEscape(query.app)}#${query.os}#${query.device}#${query.deviceId}`;
}

// `escape` is deprecated but is exactly what upstream uses for the id; keep its output bit for bit.
const legacyEscape = (globalThis as unknown as { escape: (s: string) => string }).escape;
