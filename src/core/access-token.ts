import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

/**
 * The host's one secret for local tools: the HTTP API, its WebSocket API and the flipper-server-compatible
 * API all take this token, so a user copies one file's contents whichever face they use.
 */
export const API_TOKEN_FILE = 'api.token';

/** Reads `<certDir>/api.token`, creating it (32 random bytes, hex, mode 0600) on first use. */
export async function ensureApiToken(certDir: string): Promise<string> {
  const path = join(certDir, API_TOKEN_FILE);
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (/^[0-9a-f]{32,}$/.test(token)) return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(certDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('hex');
  await writeFileAtomic(path, token + '\n', 0o600);
  return token;
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
