import { join } from 'node:path';
import { type HostConfig } from '../core/host-config.js';
import { API_TOKEN_FILE } from '../core/access-token.js';
import { proveHost } from './host-proof-client.js';
import { readPrivateFile } from '../core/private-file.js';

/** What the host records in `<certDir>/api.json` when its API starts. */
const API_RECORD_FILE = 'api.json';

export interface RunningHost {
  /** The API's base URL, e.g. http://127.0.0.1:8090 */
  url: string;
  /** true: it accepted our token, so it serves this certificate folder. false: a sonarhost with another folder. */
  sameCertDir: boolean;
  pid?: number;
  version?: string;
  startedAt?: string;
  clients?: number;
}

/**
 * Asks the API of a sonarhost that may already be running with this configuration: the address it
 * recorded in the certificate folder, else the configured API port. Only loopback is asked, with a short
 * timeout; anything that does not answer like sonarhost's API is "not a sonarhost".
 */
export async function findRunningHost(config: HostConfig, timeoutMs = 2000): Promise<RunningHost | undefined> {
  // Read as the other commands read it: no links, this user's, mode 0600. Without it, nothing is proved.
  const token = (await readPrivateFile(join(config.certDir, API_TOKEN_FILE)).catch(() => '')).trim();
  const record = await readRecord(config.certDir);
  const urls = new Set<string>();
  if (record?.url !== undefined) urls.add(record.url);
  if (config.api.port !== false) urls.add(`http://127.0.0.1:${config.api.port}`);
  for (const url of urls) {
    const answer = await askHealth(url, token, timeoutMs);
    if (answer === undefined) continue;
    const fromRecord = record?.url === url ? record : undefined;
    return { url, sameCertDir: answer.sameCertDir, clients: answer.clients, pid: fromRecord?.pid, version: fromRecord?.version, startedAt: fromRecord?.startedAt };
  }
  return undefined;
}

interface ApiRecord {
  url?: string;
  pid?: number;
  version?: string;
  startedAt?: string;
}

async function readRecord(certDir: string): Promise<ApiRecord | undefined> {
  try {
    const raw = JSON.parse(await readPrivateFile(join(certDir, API_RECORD_FILE))) as Record<string, unknown>;
    const url = typeof raw.url === 'string' && /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+\/?$/.test(raw.url) ? raw.url.replace(/\/$/, '') : undefined;
    return {
      url,
      pid: typeof raw.pid === 'number' ? raw.pid : undefined,
      version: typeof raw.version === 'string' ? raw.version : undefined,
      startedAt: typeof raw.startedAt === 'string' ? raw.startedAt : undefined,
    };
  } catch {
    return undefined; // no record (an older host, or none running): the configured port is asked instead
  }
}

/**
 * Whether sonarhost's API answers at `url`, and for this folder: the host must first prove it holds our
 * token (src/core/host-proof.ts), and only then gets a one-time proof of ours, never the token itself.
 * A process squatting the port after the host stopped learns nothing from being asked.
 */
async function askHealth(url: string, token: string, timeoutMs: number): Promise<{ sameCertDir: boolean; clients?: number } | undefined> {
  const proof = await proveHost(url, token || '0'.repeat(64), timeoutMs);
  if (!proof.ok) return proof.reason === 'wrong-proof' ? { sameCertDir: false } : undefined;
  if (!token) return { sameCertDir: false };
  // A timer of our own, not AbortSignal.timeout: that one does not keep the process alive, and a CLI
  // waiting only on a silent peer would exit with nothing said.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(`${url}/api/health`, { headers: { authorization: proof.authorization }, signal: controller.signal, redirect: 'error' });
    const body = (await response.json()) as Record<string, unknown>;
    if (response.status === 200 && body.status === 'ok') return { sameCertDir: true, clients: typeof body.clients === 'number' ? body.clients : undefined };
    return { sameCertDir: false };
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
