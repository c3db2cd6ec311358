import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { type Disposable, toDisposable } from './disposable.js';
import { processOfThisUser } from './private-file.js';
import { sonarhostVersion } from './sonarhost-version.js';

/** Beside api.token in the certificate folder: how the CLI finds a running host's API. */
export const RUNNING_HOST_FILE = 'api.json';

export interface RunningHostRecord {
  /** The HTTP API's base address, e.g. `http://127.0.0.1:8090`. */
  url: string;
  /** The WebSocket API, e.g. `ws://127.0.0.1:8090/api/ws`. */
  wsUrl: string;
  pid: number;
  version: string;
  startedAt: string;
}

/**
 * The record of another host that is running now for this certificate folder (a live process of this
 * user that is not this one), if any. A second host on the same folder would replace the first one's
 * token and record, leaving the first unreachable for every tool: it must refuse to start instead.
 */
export async function otherLiveHost(certDir: string): Promise<RunningHostRecord | undefined> {
  let record: Partial<RunningHostRecord>;
  try {
    record = JSON.parse(await readFile(join(certDir, RUNNING_HOST_FILE), 'utf8')) as Partial<RunningHostRecord>;
  } catch {
    return undefined; // none, or unreadable: nothing to protect
  }
  if (typeof record.pid !== 'number' || record.pid === process.pid) return undefined;
  return (await processOfThisUser(record.pid)) ? (record as RunningHostRecord) : undefined;
}

/** Writes `<certDir>/api.json` (mode 0600); the Disposable removes it, unless another host has replaced it since. */
export async function recordRunningHost(certDir: string, record: RunningHostRecord): Promise<Disposable> {
  const path = join(certDir, RUNNING_HOST_FILE);
  await writeFileAtomic(path, JSON.stringify(record, null, 2) + '\n', 0o600);
  return toDisposable(async () => {
    const now = await readFile(path, 'utf8').catch(() => '');
    if (now.includes(`"pid": ${record.pid},`) && now.includes(record.startedAt)) await rm(path, { force: true });
  });
}

export { sonarhostVersion };
