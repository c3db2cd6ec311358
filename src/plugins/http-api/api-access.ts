import type * as http from 'node:http';
import { ApiProblem } from './api-problem.js';
import { tokenMatches } from './api-token.js';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * Who may use the API: requests for a loopback Host name (no DNS rebinding), from no origin or the
 * dashboard's own, carrying the token. The token travels in the Authorization header; only the two
 * routes a browser cannot give headers (the event stream and the WebSocket) take it as `?token=`.
 */
export class ApiAccess {
  constructor(
    private readonly token: string,
    private readonly tokenFile: string,
  ) {}

  checkOrigin(req: http.IncomingMessage): void {
    const hostHeader = req.headers.host ?? '';
    const hostName = hostHeader.replace(/:\d+$/, '');
    if (!LOOPBACK_NAMES.includes(hostName)) throw new ApiProblem('forbidden', `refused: Host "${hostHeader}" is not this machine's loopback address`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${hostHeader}`) throw new ApiProblem('forbidden', 'refused: cross-origin requests are not allowed');
  }

  checkToken(req: http.IncomingMessage, url: URL, queryAllowed: boolean): void {
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7).trim() : queryAllowed ? (url.searchParams.get('token') ?? undefined) : undefined;
    if (!tokenMatches(this.token, given)) {
      const where = queryAllowed ? '"Authorization: Bearer <token>" (or ?token=<token>)' : '"Authorization: Bearer <token>" (?token= is taken only by /api/events and /api/ws)';
      throw new ApiProblem('unauthorized', `missing or wrong token: send ${where} with the token from ${this.tokenFile}`);
    }
  }
}

/** The request's path for logs: never the query, which may hold the token. */
export function loggablePath(req: http.IncomingMessage): string {
  const raw = req.url ?? '/';
  const cut = raw.search(/[?#]/);
  return (cut === -1 ? raw : raw.slice(0, cut)).slice(0, 200);
}
