import { parseArgs } from 'node:util';
import { type HostConfig } from '../core/host-config.js';
import { COMMON_OPTIONS, type CommonValues, loadConfigFromFlags } from './cli-context.js';
import { ApiAnswerError, type HostApiClient } from './host-api-client.js';
import { CliFailure, EXIT } from './running-host.js';

export const API_COMMAND_EXIT_CODES = `Exit codes:
  0  done
  1  the app answered with an error, disconnected, or the host failed
  2  usage: a wrong option or argument
  3  no sonarhost is running for the certificate folder
  4  no connected client matches, or several do (the candidates are listed)
  5  timed out (an app's answer, or --wait)`;

type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

export interface ParsedApiCommand<V> {
  values: V & CommonValues & { help?: boolean };
  positionals: string[];
  certDir: string;
  config: HostConfig;
}

/** Parses a host command's arguments (its own options plus the common ones) and finds the certificate folder. */
export async function parseApiCommand<V>(args: string[], options: Options, positionals: { min: number; max: number; usage: string }): Promise<ParsedApiCommand<V> | undefined> {
  const parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals: true });
  const values = parsed.values as ParsedApiCommand<V>['values'];
  if (values.help) return undefined;
  if (parsed.positionals.length < positionals.min || parsed.positionals.length > positionals.max) throw new CliFailure(EXIT.usage, `usage: ${positionals.usage}`);
  const { config } = await loadConfigFromFlags(values);
  return { values, positionals: parsed.positionals, certDir: config.certDir, config };
}

/** Runs a host command: failures become one line on stderr (plus candidates) and the documented exit code. */
export async function runApiCommand(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CliFailure) {
      process.stderr.write(`sonarhost: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ApiAnswerError) {
      process.stderr.write(`sonarhost: ${error.message}\n${formatCandidates(error.body.candidates)}`);
      return exitCodeFor(error.kind);
    }
    throw error;
  }
}

export function exitCodeFor(kind: string): number {
  if (kind === 'no-such-client' || kind === 'ambiguous-client') return EXIT.noSuchClient;
  if (kind === 'timeout') return EXIT.timeout;
  if (kind === 'bad-request') return EXIT.usage;
  return EXIT.appError;
}

/** One line per client, as `clients` prints them: short id, app, app id, device, full id. */
export function formatClientLines(clients: unknown): string {
  if (!Array.isArray(clients)) return '';
  return clients
    .map((c: Record<string, unknown>) => `  ${String(c.shortId).padEnd(9)} ${String(c.app).padEnd(24)} ${String(c.appId).padEnd(28)} ${String(c.device).padEnd(16)} ${String(c.id)}\n`)
    .join('');
}

function formatCandidates(candidates: unknown): string {
  if (!Array.isArray(candidates) || candidates.length === 0) return '';
  return `candidates:\n${formatClientLines(candidates)}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Tries `attempt` now and again each time a client connects, until it gives a result or `timeoutMs`
 * is spent (then a timeout CliFailure with `timedOut`). Subscribes first, so no connection is missed.
 */
export async function retryWhenClientsConnect<T>(api: HostApiClient, timeoutMs: number, attempt: (leftMs: number) => Promise<{ value: T } | undefined>, timedOut: string): Promise<T> {
  let wake: () => void = () => undefined;
  const unsubscribe = await api.subscribe({ events: ['client-connected'] }, () => wake());
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const result = await attempt(Math.max(1, deadline - Date.now()));
      if (result) return result.value;
      const left = deadline - Date.now();
      if (left <= 0) throw new CliFailure(EXIT.timeout, timedOut);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    await unsubscribe().catch(() => undefined);
  }
}
