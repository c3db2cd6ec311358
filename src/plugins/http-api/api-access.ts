import type * as http from 'node:http';
import { tokenMatches } from '../../core/access-token.js';
import { ProofChallenges } from '../../core/host-proof.js';
import { loopbackRefusal } from '../../core/loopback-access.js';
import { ApiProblem } from './api-problem.js';

/**
 * Who may use the API: requests for a loopback Host name (no DNS rebinding), from no origin or the
 * dashboard's own, carrying the token. The token travels in the Authorization header; only the two
 * routes a browser cannot give headers (the event stream and the WebSocket) take it as `?token=`.
 */
export class ApiAccess {
  /** The CLI's way in: it proves it holds the token without sending it (src/core/host-proof.ts). */
  private readonly challenges: ProofChallenges;

  constructor(
    private readonly token: string,
    private readonly tokenFile: string,
    /** The port the API listens on: the only one its pages' Origin may name. */
    private readonly port: () => number,
  ) {
    this.challenges = new ProofChallenges(token);
  }

  /** `GET /api/hello?nonce=…`, open to any local caller: this host's proof that it holds the token. */
  hello(url: URL): { service: 'sonarhost'; nonce: string; proof: string } {
    const answer = this.challenges.hello(url.searchParams.get('nonce'));
    if (!answer) throw new ApiProblem('bad-request', 'GET /api/hello needs ?nonce= with 32 to 128 lowercase hex digits');
    return answer;
  }

  checkOrigin(req: http.IncomingMessage): void {
    const refusal = loopbackRefusal(req, this.port());
    if (refusal !== undefined) throw new ApiProblem('forbidden', refusal);
  }

  checkToken(req: http.IncomingMessage, url: URL, queryAllowed: boolean): void {
    const header = req.headers.authorization;
    if (header?.startsWith('Sonarhost-Proof ') && this.challenges.accepts(header)) return;
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
