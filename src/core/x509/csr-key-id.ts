import { createHash } from 'node:crypto';
import { x509 } from './webcrypto.js';
import { normalizeCsr } from './csr.js';

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
  let id: string | undefined;
  try {
    const request = new x509.Pkcs10CertificateRequest(normalizeCsr(input));
    id = createHash('sha256').update(Buffer.from(request.publicKey.rawData)).digest('hex').slice(0, 32);
  } catch {
    id = undefined;
  }
  keyIds.set(input, id);
  if (keyIds.size > CACHE_SIZE) keyIds.delete(keyIds.keys().next().value!);
  return id;
}
