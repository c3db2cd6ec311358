import type * as http from 'node:http';
import { tokenMatches } from '../../core/access-token.js';
import { ProofChallenges } from '../../core/host-proof.js';
import { loopbackRefusal } from '../../core/loopback-access.js';

/** The cookie the browser UI carries instead of a token it could not send (it adds none to its WebSocket URL). */
export const FLIPPER_COOKIE = 'sonarhost_flipper';

export type Refusal = { status: 401 | 403; message: string };

/**
 * Who may use the flipper-server API: loopback Host, no foreign Origin (core rule shared with the HTTP
 * API), and the API token, given as `?token=` (flipper-server-client), the `x-access-token` header
 * (flipper-server 0.212+) or the HttpOnly cookie set by opening `/?token=<token>` once (the browser UI).
 */
export class FlipperAccess {
  private readonly challenges: ProofChallenges;

  constructor(
    private readonly token: string,
    private readonly tokenFile: string,
    private readonly port: () => number,
  ) {
    this.challenges = new ProofChallenges(token);
  }

  /** This host's proof that it holds the token, for a fresh client nonce (undefined when it is malformed). */
  hello(url: URL): { service: 'sonarhost'; nonce: string; proof: string } | undefined {
    return this.challenges.hello(url.searchParams.get('nonce'));
  }

  /** The Host and Origin rule alone (for `/health`, which needs no token). */
  checkPlace(req: http.IncomingMessage): Refusal | undefined {
    const refusal = loopbackRefusal(req, this.port());
    return refusal === undefined ? undefined : { status: 403, message: refusal };
  }

  check(req: http.IncomingMessage, url: URL): Refusal | undefined {
    const place = this.checkPlace(req);
    if (place) return place;
    if (this.queryToken(url) || tokenMatches(this.token, headerValue(req.headers['x-access-token'])) || tokenMatches(this.token, cookie(req, FLIPPER_COOKIE))) return undefined;
    return { status: 401, message: `missing or wrong token: open http://localhost:${this.port()}/?token=<token> once in the browser, or send ?token=<token> or an "x-access-token" header, with the token from ${this.tokenFile}` };
  }

  queryToken(url: URL): boolean {
    return tokenMatches(this.token, url.searchParams.get('token') ?? undefined);
  }

  /** The login answer: the cookie, then back to the page without the token in the address bar. */
  loginCookie(): string {
    return `${FLIPPER_COOKIE}=${this.token}; HttpOnly; SameSite=Strict; Path=/`;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function cookie(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}
