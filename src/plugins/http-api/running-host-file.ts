import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { type Disposable, toDisposable } from '../../core/disposable.js';
import { sonarhostVersion } from '../../core/sonarhost-version.js';

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
