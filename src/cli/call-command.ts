import { COMMON_HELP } from './cli-context.js';
import { API_COMMAND_EXIT_CODES, parseApiCommand, retryWhenClientsConnect, runApiCommand } from './api-command.js';
import { parseTimeout } from './clients-command.js';
import { ApiAnswerError, type HostApiClient } from './host-api-client.js';
import { CliFailure, EXIT, connectToHost, connectToHostBy } from './running-host.js';

export const CALL_HELP = `Usage: sonarhost call <client> <method> [params-json] [options]

Calls a method of an app connected to the running host and prints its answer as JSON.

  <client>       the full client id, its short id, or a unique app id or app name
                 ("sonarhost clients" lists them; an ambiguous or unknown one lists the candidates)
  <method>       plugin.method (e.g. "network.getRequests") calls a plugin's receiver through the
                 plugin protocol's "execute"; a bare name (e.g. "getPlugins") is sent as it is
  [params-json]  the params as JSON (default: none)

Options:
  --timeout MS         how long to wait for the answer, and with --wait for the app (default: 30000)
  --wait               wait for the host to be up and the client to connect instead of failing at once

${API_COMMAND_EXIT_CODES}

Example:
  sonarhost call "My App" demo.echo '{"hello": 1}' --wait --timeout 60000

${COMMON_HELP}`;

export async function callCommand(args: string[]): Promise<number> {
  return runApiCommand(async () => {
    const parsed = await parseApiCommand<{ timeout?: string; wait?: boolean }>(
      args,
      { timeout: { type: 'string' }, wait: { type: 'boolean' } },
      { min: 2, max: 3, usage: 'sonarhost call <client> <method> [params-json] [--timeout MS] [--wait]' },
    );
    if (!parsed) {
      process.stdout.write(CALL_HELP + '\n');
      return EXIT.ok;
    }
    const [client, method, paramsText] = parsed.positionals as [string, string, string | undefined];
    const timeoutMs = parseTimeout(parsed.values.timeout, 30_000);
    const { method: wireMethod, params } = protocolRequest(method, parseParams(paramsText));
    const { api } = parsed.values.wait ? await connectToHostBy(parsed.certDir, Date.now() + timeoutMs, timeoutMs) : await connectToHost(parsed.certDir);
    try {
      const answer = parsed.values.wait ? await callWhenConnected(api, client, wireMethod, params, timeoutMs) : await api.call(client, wireMethod, params, timeoutMs);
      process.stdout.write(JSON.stringify(answer, null, 2) + '\n');
      return EXIT.ok;
    } catch (error) {
      if (error instanceof ApiAnswerError && error.kind === 'app-error') {
        throw new CliFailure(EXIT.appError, `the app answered ${method} with an error: ${JSON.stringify(error.body.error)}`);
      }
      throw error;
    } finally {
      api.close();
    }
  });
}

/** `plugin.method` becomes the plugin protocol's execute; anything else is a protocol method as it is. */
export function protocolRequest(method: string, params: unknown): { method: string; params: unknown } {
  const dot = method.indexOf('.');
  if (dot <= 0 || dot === method.length - 1) return { method, params };
  return { method: 'execute', params: { api: method.slice(0, dot), method: method.slice(dot + 1), params } };
}

function parseParams(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliFailure(EXIT.usage, `[params-json] is not JSON (${(error as Error).message}); quote it for the shell, e.g. '{"id": 1}'`);
  }
}

/** Retries the call each time a client connects, until the named one is there or the time is up. */
function callWhenConnected(api: HostApiClient, client: string, method: string, params: unknown, timeoutMs: number): Promise<unknown> {
  return retryWhenClientsConnect(
    api,
    timeoutMs,
    async (leftMs) => {
      try {
        return { value: await api.call(client, method, params, leftMs) };
      } catch (error) {
        if (!(error instanceof ApiAnswerError) || error.kind !== 'no-such-client') throw error;
        return undefined;
      }
    },
    `No client ${JSON.stringify(client)} connected within ${timeoutMs} ms.`,
  );
}
