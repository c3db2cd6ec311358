import { watch } from 'node:fs/promises';
import { join } from 'node:path';
import { API_TOKEN_FILE } from '../core/access-token.js';
import { RUNNING_HOST_FILE, type RunningHostRecord } from '../core/running-host-record.js';
import { HostApiClient } from './host-api-client.js';
import { loopbackUrl, proveHost } from './host-proof-client.js';
import { UntrustedFile, checkPrivateFolder, processOfThisUser, readPrivateFile } from '../core/private-file.js';

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
 * its process id or by a refused connection, and reported as "not running". Nothing in those files is
 * trusted blindly (SECURITY.md, "The CLI and the token"): both must be plain files of this user's with
 * mode 0600 in a folder of mode 0700, the address a loopback http:// one, the pid a process of this user.
 */
export async function findRunningHost(certDir: string): Promise<RunningHost> {
  const notRunning = (why: string) => new CliFailure(EXIT.notRunning, `No sonarhost is running for the certificate folder ${certDir} (${why}). Start one with "sonarhost start", or name its folder with --cert-dir.`);
  const refused = (why: string) => new CliFailure(EXIT.notRunning, `Not talking to the host recorded in ${certDir}: ${why}. Start sonarhost with this folder, or name the right one with --cert-dir.`);
  let record: RunningHostRecord;
  try {
    await checkPrivateFolder(certDir);
    record = JSON.parse(await readPrivateFile(join(certDir, RUNNING_HOST_FILE))) as RunningHostRecord;
  } catch (error) {
    if (error instanceof UntrustedFile) throw refused(error.message);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notRunning(`no ${RUNNING_HOST_FILE}`);
    if ((error as NodeJS.ErrnoException).code === 'EACCES') throw new CliFailure(EXIT.notRunning, `Cannot read ${join(certDir, RUNNING_HOST_FILE)}: run as the user that runs the host.`);
    throw notRunning(`${RUNNING_HOST_FILE} is unreadable`);
  }
  const url = loopbackUrl(record.url, ['http:']);
  const wsUrl = loopbackUrl(record.wsUrl, ['ws:']);
  if (typeof record.pid !== 'number') throw notRunning(`${RUNNING_HOST_FILE} is damaged`);
  if (url === undefined || wsUrl === undefined) throw refused(`${RUNNING_HOST_FILE} names an address that is not this machine's loopback (${String(record.url).slice(0, 80)})`);
  if (!(await processOfThisUser(record.pid))) throw notRunning(`${RUNNING_HOST_FILE} is stale: process ${record.pid} is not a running process of this user`);
  let token: string;
  try {
    token = (await readPrivateFile(join(certDir, API_TOKEN_FILE))).trim();
  } catch (error) {
    if (error instanceof UntrustedFile) throw refused(error.message);
    throw new CliFailure(EXIT.notRunning, `Cannot read the API token ${join(certDir, API_TOKEN_FILE)}: run as the user that runs the host.`);
  }
  return { record: { ...record, url, wsUrl }, token };
}

const PROOF_TIMEOUT_MS = 5000;

/**
 * Connects to the running host's WebSocket API once the host has proved it holds the folder's token;
 * the token itself is never sent, only a one-time proof (src/core/host-proof.ts). A refused connection
 * means the recorded host is gone; a server that cannot prove the token gets nothing.
 */
export async function connectToHost(certDir: string): Promise<{ host: RunningHost; api: HostApiClient }> {
  const host = await findRunningHost(certDir);
  const proof = await proveHost(host.record.url, host.token, PROOF_TIMEOUT_MS);
  if (!proof.ok) {
    if (proof.reason === 'unreachable' && /ECONNREFUSED/.test(proof.detail)) {
      throw new CliFailure(EXIT.notRunning, `No sonarhost answers at ${host.record.url} (connection refused); ${RUNNING_HOST_FILE} in ${certDir} is stale. Start one with "sonarhost start".`);
    }
    if (proof.reason === 'unreachable') throw new CliFailure(EXIT.notRunning, `Could not reach the host's API at ${host.record.url}: ${proof.detail}`);
    throw new CliFailure(EXIT.notRunning, `The server at ${host.record.url} is not the sonarhost of ${certDir} (${proof.detail}); nothing was sent to it. Another program may hold the API port: check with "sonarhost doctor".`);
  }
  try {
    return { host, api: await HostApiClient.connect(host.record.wsUrl, { authorization: proof.authorization }) };
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

const EACCES_FAILURE = /run as the user that runs the host|^Not talking to the host|is not the sonarhost of/;

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
