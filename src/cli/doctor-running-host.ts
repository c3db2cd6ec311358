import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type HostConfig } from '../core/host-config.js';
import { API_TOKEN_FILE } from '../core/access-token.js';

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
  const token = (await readFile(join(config.certDir, API_TOKEN_FILE), 'utf8').catch(() => '')).trim();
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
    const raw = JSON.parse(await readFile(join(certDir, API_RECORD_FILE), 'utf8')) as Record<string, unknown>;
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

async function askHealth(url: string, token: string, timeoutMs: number): Promise<{ sameCertDir: boolean; clients?: number } | undefined> {
  // A timer of our own, not AbortSignal.timeout: that one does not keep the process alive, and a CLI
  // waiting only on a silent peer would exit with nothing said.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(`${url}/api/health`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: controller.signal });
    const body = (await response.json()) as Record<string, unknown>;
    if (response.status === 200 && body.status === 'ok') return { sameCertDir: true, clients: typeof body.clients === 'number' ? body.clients : undefined };
    // sonarhost's API refuses a wrong token with a message naming its token file.
    if (response.status === 401 && typeof body.error === 'string' && body.error.includes(API_TOKEN_FILE)) return { sameCertDir: false };
    return undefined;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
