import type * as http from 'node:http';

/** The names a browser or tool on this machine uses for a loopback listener (what `Host` may say). */
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Why a request to a loopback-only listener is refused, or undefined when it may go on. Two rules,
 * shared by every local face (the HTTP API, the flipper-server-compatible API):
 * - `Host` must be a loopback name (with any port): a page on another site whose name was rebound to
 *   127.0.0.1 sends its own name, and is refused (DNS rebinding).
 * - `Origin`, when a browser sends one, must be exactly `http://<loopback name>:<port>` of this very
 *   listener, compared after parsing as a URL: no prefix test can be fooled by `http://localhost:8090.evil.test`.
 */
export function loopbackRefusal(req: http.IncomingMessage, port: number): string | undefined {
  const hostHeader = req.headers.host ?? '';
  const host = /^(127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i.exec(hostHeader);
  if (!host || !LOOPBACK_NAMES.has(host[1]!.toLowerCase())) return `refused: Host "${hostHeader.slice(0, 100)}" is not this machine's loopback address`;
  const origin = req.headers.origin;
  if (origin !== undefined && !isOwnOrigin(origin, port)) return `refused: requests from the origin "${origin.slice(0, 100)}" are not allowed (only pages served by this listener may call it)`;
  return undefined;
}

function isOwnOrigin(origin: string, port: number): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && url.origin === origin && LOOPBACK_NAMES.has(url.hostname) && url.port === String(port);
}
