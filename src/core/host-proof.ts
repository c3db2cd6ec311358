import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Mutual proof of the API token without sending it (docs/api.md, "Proving the host"). The CLI must not
 * hand its token to whatever listens on the address a file names: a process that squatted the port, or
 * a server a hostile api.json points at. So:
 * 1. the tool sends a fresh nonce: `GET /api/hello?nonce=<client nonce>` (no credentials);
 * 2. the host answers `{nonce: <server nonce>, proof: HMAC(token, "host|" + client + "|" + server)}`;
 *    only a holder of the token can compute it, and the tool checks it;
 * 3. the tool then authenticates with `Authorization: Sonarhost-Proof <server nonce> <HMAC(token,
 *    "client|" + client + "|" + server)>`, good once and only for this host's fresh server nonce,
 *    so an impostor that relays it gets nothing usable elsewhere.
 */
export const PROOF_SCHEME = 'Sonarhost-Proof';
const NONCE = /^[0-9a-f]{32,128}$/;

export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE.test(value);
}

export function newNonce(): string {
  return randomBytes(24).toString('hex');
}

export function hostProof(token: string, clientNonce: string, serverNonce: string): string {
  return createHmac('sha256', token).update(`host|${clientNonce}|${serverNonce}`).digest('hex');
}

export function clientProof(token: string, clientNonce: string, serverNonce: string): string {
  return createHmac('sha256', token).update(`client|${clientNonce}|${serverNonce}`).digest('hex');
}

export function proofMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

const CHALLENGE_LIFETIME_MS = 60_000;
const MAX_OPEN_CHALLENGES = 256;

/** The host's side: answers challenges and accepts each answered one's client proof once, within a minute. */
export class ProofChallenges {
  /** server nonce → the client nonce it answered and when it expires; the oldest go first past the cap. */
  private readonly open = new Map<string, { clientNonce: string; expires: number }>();

  constructor(
    private readonly token: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The answer to `GET …/api/hello?nonce=` (any face of the host): undefined when the nonce is malformed. */
  hello(clientNonce: string | null): { service: 'sonarhost'; nonce: string; proof: string } | undefined {
    return isNonce(clientNonce) ? { service: 'sonarhost', ...this.answer(clientNonce) } : undefined;
  }

  answer(clientNonce: string): { nonce: string; proof: string } {
    this.prune();
    const serverNonce = newNonce();
    this.open.set(serverNonce, { clientNonce, expires: this.now() + CHALLENGE_LIFETIME_MS });
    while (this.open.size > MAX_OPEN_CHALLENGES) this.open.delete(this.open.keys().next().value!);
    return { nonce: serverNonce, proof: hostProof(this.token, clientNonce, serverNonce) };
  }

  /** Whether an `Authorization` header value is a valid, unused client proof; a used one is spent. */
  accepts(header: string | undefined): boolean {
    const match = header === undefined ? null : /^Sonarhost-Proof ([0-9a-f]{32,128}) ([0-9a-f]{64})$/.exec(header.trim());
    if (!match) return false;
    const challenge = this.open.get(match[1]!);
    if (!challenge || challenge.expires < this.now()) return false;
    if (!proofMatches(clientProof(this.token, challenge.clientNonce, match[1]!), match[2]!)) return false;
    this.open.delete(match[1]!);
    return true;
  }

  private prune(): void {
    const now = this.now();
    for (const [nonce, { expires }] of this.open) if (expires < now) this.open.delete(nonce);
  }
}
