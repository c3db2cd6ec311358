import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import { writeFileAtomic } from './atomic-file.js';
import { HostConfig } from './host-config.js';
import { HostError } from './host-error.js';
import { otherLiveHost } from './running-host-record.js';

/**
 * The host's one secret for local tools: the HTTP API, its WebSocket API and the flipper-server-compatible
 * API all take this token, so a user copies one file's contents whichever face they use.
 */
export const API_TOKEN_FILE = 'api.token';

/**
 * The token of one host run. Each start issues a new one and replaces `<certDir>/api.token` atomically
 * (32 random bytes, hex, mode 0600), so a token that leaked is worthless after the next start and a
 * process that squats the API port after the host stopped cannot use one it was sent. Every face of the
 * same host shares it: the first to ask creates it.
 */
@injectable()
export class HostAccessToken {
  private issued: Promise<string> | undefined;

  constructor(@inject(HostConfig) private readonly config: HostConfig) {}

  get(): Promise<string> {
    this.issued ??= this.issue();
    return this.issued;
  }

  private async issue(): Promise<string> {
    const other = await otherLiveHost(this.config.certDir);
    if (other) {
      throw new HostError(
        'folder-in-use',
        `Another sonarhost (pid ${other.pid}, API ${other.url}, since ${other.startedAt}) is running for the certificate folder ${this.config.certDir}. ` +
          'Stop it first, or give this host its own folder with --cert-dir (and its own ports); two hosts on one folder would lock each other\'s tools out.',
      );
    }
    return issueApiToken(this.config.certDir);
  }
}

async function issueApiToken(certDir: string): Promise<string> {
  await mkdir(certDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('hex');
  await writeFileAtomic(join(certDir, API_TOKEN_FILE), token + '\n', 0o600);
  return token;
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
