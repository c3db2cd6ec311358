import { readFile, watch } from 'node:fs/promises';
import { join } from 'node:path';
import { API_TOKEN_FILE } from '../core/access-token.js';
import { RUNNING_HOST_FILE, type RunningHostRecord } from '../plugins/http-api/running-host-file.js';
import { HostApiClient } from './host-api-client.js';

/** Exit codes of the commands that talk to a running host; README lists them for scripts. */
export const EXIT = { ok: 0, appError: 1, usage: 2, notRunning: 3, noSuchClient: 4, timeout: 5 } as const;

/** A failure the command reports in one line and turns into its exit code. */
export class CliFailure extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RunningHost {
  record: RunningHostRecord;
  token: string;
}

/**
 * Finds the host serving a certificate folder through what it records there while it runs
 * (`api.json`, and the token in `api.token`). A file left behind by a host that died is recognised by
 * its process id or by a refused connection, and reported as "not running".
 */
export async function findRunningHost(certDir: string): Promise<RunningHost> {
  const notRunning = (why: string) => new CliFailure(EXIT.notRunning, `No sonarhost is running for the certificate folder ${certDir} (${why}). Start one with "sonarhost start", or name its folder with --cert-dir.`);
  let record: RunningHostRecord;
  try {
    record = JSON.parse(await readFile(join(certDir, RUNNING_HOST_FILE), 'utf8')) as RunningHostRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notRunning(`no ${RUNNING_HOST_FILE}`);
    if ((error as NodeJS.ErrnoException).code === 'EACCES') throw new CliFailure(EXIT.notRunning, `Cannot read ${join(certDir, RUNNING_HOST_FILE)}: run as the user that runs the host.`);
    throw notRunning(`${RUNNING_HOST_FILE} is unreadable`);
  }
  if (typeof record.url !== 'string' || typeof record.wsUrl !== 'string' || typeof record.pid !== 'number') throw notRunning(`${RUNNING_HOST_FILE} is damaged`);
  if (!processExists(record.pid)) throw notRunning(`${RUNNING_HOST_FILE} is stale: process ${record.pid} has exited`);
  let token: string;
  try {
    token = (await readFile(join(certDir, API_TOKEN_FILE), 'utf8')).trim();
  } catch {
    throw new CliFailure(EXIT.notRunning, `Cannot read the API token ${join(certDir, API_TOKEN_FILE)}: run as the user that runs the host.`);
  }
  return { record, token };
}

/** Connects to the running host's WebSocket API; a refused connection means the recorded host is gone. */
export async function connectToHost(certDir: string): Promise<{ host: RunningHost; api: HostApiClient }> {
  const host = await findRunningHost(certDir);
  try {
    return { host, api: await HostApiClient.connect(host.record.wsUrl, host.token) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') throw new CliFailure(EXIT.notRunning, `No sonarhost answers at ${host.record.url} (connection refused); ${RUNNING_HOST_FILE} in ${certDir} is stale. Start one with "sonarhost start".`);
    throw new CliFailure(EXIT.notRunning, `Could not reach the host's API at ${host.record.wsUrl}: ${(error as Error).message}`);
  }
}

/**
 * As connectToHost, but a host that is not up yet is waited for until `deadline` (a CI script starts the
 * host and the app, then `clients --wait`): the folder is watched for the host's api.json, with a slow
 * poll besides, since a watch can miss a rename on some file systems. Other failures end it at once.
 */
export async function connectToHostBy(certDir: string, deadline: number, timeoutMs: number): Promise<{ host: RunningHost; api: HostApiClient }> {
  for (;;) {
    try {
      return await connectToHost(certDir);
    } catch (error) {
      if (!(error instanceof CliFailure) || error.exitCode !== EXIT.notRunning || EACCES_FAILURE.test(error.message)) throw error;
      const left = deadline - Date.now();
      if (left <= 0) throw new CliFailure(EXIT.timeout, `No sonarhost came up for the certificate folder ${certDir} within ${timeoutMs} ms; start one with "sonarhost start". Last look: ${error.message}`);
      await changeIn(certDir, Math.min(left, 500));
    }
  }
}

const EACCES_FAILURE = /run as the user that runs the host/;

/** Resolves when something changes in `folder`, or after `ms` at the latest. */
async function changeIn(folder: string, ms: number): Promise<void> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), ms);
  try {
    for await (const _ of watch(folder, { signal: stop.signal })) break;
  } catch {
    // aborted, or the folder does not exist yet: the timer paces the next look
    if (!stop.signal.aborted) await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    clearTimeout(timer);
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}
