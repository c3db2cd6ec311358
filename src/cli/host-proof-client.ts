import { clientProof, hostProof, isNonce, newNonce, proofMatches, PROOF_SCHEME } from '../core/host-proof.js';

export type HostProofOutcome =
  | { ok: true; authorization: string }
  /** Something answered, but not with a proof made from our token: another sonarhost (another folder), or an impostor. */
  | { ok: false; reason: 'wrong-proof' | 'not-sonarhost' | 'unreachable'; detail: string };

/**
 * Asks the server at `url` (a loopback http:// base) to prove it holds `token` before anything secret
 * is sent (src/core/host-proof.ts). On success the answer is an Authorization header, good for one
 * connection, that authenticates us without the token itself ever leaving this process.
 */
export async function proveHost(url: string, token: string, timeoutMs: number): Promise<HostProofOutcome> {
  const clientNonce = newNonce();
  // A timer of our own, not AbortSignal.timeout: that one does not keep the process alive.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let body: Record<string, unknown>;
  try {
    const response = await fetch(`${url}/api/hello?nonce=${clientNonce}`, { signal: controller.signal, redirect: 'error' });
    body = (await response.json()) as Record<string, unknown>;
    if (response.status !== 200) return { ok: false, reason: 'not-sonarhost', detail: `it answered ${response.status}` };
  } catch (error) {
    return { ok: false, reason: 'unreachable', detail: (error as NodeJS.ErrnoException).cause ? String(((error as { cause: Error }).cause).message) : (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
  if (body.service !== 'sonarhost' || !isNonce(body.nonce) || typeof body.proof !== 'string') return { ok: false, reason: 'not-sonarhost', detail: 'its answer is not sonarhost\'s' };
  if (!proofMatches(hostProof(token, clientNonce, body.nonce), body.proof)) {
    return { ok: false, reason: 'wrong-proof', detail: 'it could not prove that it holds the token in this folder' };
  }
  return { ok: true, authorization: `${PROOF_SCHEME} ${body.nonce} ${clientProof(token, clientNonce, body.nonce)}` };
}

/** Only these may be named by api.json: the host's API is on loopback, plain HTTP and WebSocket. */
export function loopbackUrl(value: unknown, protocols: readonly string[]): string | undefined {
  if (typeof value !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (!protocols.includes(url.protocol) || !['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname) || url.port === '' || url.username || url.password || url.search || url.hash) return undefined;
  return value.replace(/\/$/, '');
}
