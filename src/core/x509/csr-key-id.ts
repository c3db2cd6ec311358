import { createHash } from 'node:crypto';
import { csrPublicKeyDer } from './csr.js';

const CACHE_SIZE = 512;
const keyIds = new Map<string, string | undefined>();

/**
 * A short id of the public key in a CSR, without checking its signature: what the connection gate
 * keys loopback exchange limits by, since every local app shares 127.0.0.1 but not its key.
 * Undefined when the text is not a readable CSR.
 */
export function csrKeyId(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 64 * 1024) return undefined;
  if (keyIds.has(input)) return keyIds.get(input);
  const publicKey = csrPublicKeyDer(input);
  const id = publicKey && createHash('sha256').update(publicKey).digest('hex').slice(0, 32);
  keyIds.set(input, id);
  if (keyIds.size > CACHE_SIZE) keyIds.delete(keyIds.keys().next().value!);
  return id;
}
