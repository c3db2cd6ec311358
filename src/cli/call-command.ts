import { COMMON_HELP } from './cli-context.js';
import { API_COMMAND_EXIT_CODES, parseApiCommand, retryWhenClientsConnect, runApiCommand } from './api-command.js';
import { parseTimeout } from './clients-command.js';
import { answersNotConnected, callWithInit } from './call-with-init.js';
import { ApiAnswerError, type HostApiClient } from './host-api-client.js';
import { CliFailure, EXIT, connectToHost, connectToHostBy } from './running-host.js';

export const CALL_HELP = `Usage: sonarhost call <client> <method> [params-json] [options]

Calls a method of an app connected to the running host and prints its answer as JSON.

  <client>       the full client id, its short id, or a unique app id or app name
                 ("sonarhost clients" lists them; an ambiguous or unknown one lists the candidates)
  <method>       plugin.method (e.g. "network.getRequests") calls a plugin's receiver through the
                 plugin protocol's "execute"; a bare name (e.g. "getPlugins") is sent as it is.
                 A plugin the app does not run in the background is not connected until a UI opens
                 it: when the app answers ConnectionNotFound, call sends the plugin's "init" (as a UI
                 does) and calls again
  [params-json]  the params as JSON (default: none)

Options:
  --timeout MS         how long to wait for the answer, and with --wait for the app (default: 30000)
  --wait               wait for the host to be up and the client to connect instead of failing at once
  --verbose            say on stderr what call does besides the call itself (e.g. an init it sends)

${API_COMMAND_EXIT_CODES}

Examples (against the demo app, "npm run demo" in a sonarhost clone):
  sonarhost call "sonarhost demo" counter.add '{"a": 1, "b": 2}'
  sonarhost call "sonarhost demo" greeter.hello '{"name": "you"}' --verbose   (not a background plugin)
  sonarhost call "sonarhost demo" getPlugins
  sonarhost call "sonarhost demo" counter.add '{"a": 1, "b": 2}' --wait --timeout 60000

${COMMON_HELP}`;

export async function callCommand(args: string[]): Promise<number> {
  return runApiCommand(async () => {
    const parsed = await parseApiCommand<{ timeout?: string; wait?: boolean; verbose?: boolean }>(
      args,
      { timeout: { type: 'string' }, wait: { type: 'boolean' }, verbose: { type: 'boolean' } },
      { min: 2, max: 3, usage: 'sonarhost call <client> <method> [params-json] [--timeout MS] [--wait] [--verbose]' },
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
      // Only the plugin.method form inits: a bare protocol method is sent as it is.
      const plugin = wireMethod === method ? undefined : (params as { api: string }).api;
      const once = (leftMs: number) => callOnce(api, client, wireMethod, params, plugin, leftMs, parsed.values.verbose === true);
      const answer = parsed.values.wait ? await callWhenConnected(api, client, once, timeoutMs) : await once(timeoutMs);
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

/** The call; a plugin's execute the app answers with ConnectionNotFound gets the plugin's init and is sent again. */
function callOnce(api: HostApiClient, client: string, method: string, params: unknown, plugin: string | undefined, timeoutMs: number, verbose: boolean): Promise<unknown> {
  if (plugin === undefined) return api.call(client, method, params, timeoutMs);
  return callWithInit({
    execute: (leftMs) => api.call(client, method, params, leftMs),
    init: () => api.init(client, plugin),
    notConnected: (error) => error instanceof ApiAnswerError && error.kind === 'app-error' && answersNotConnected(error.body.error),
    timeoutMs,
    onInit: () => {
      if (verbose) process.stderr.write(`sonarhost: the app's plugin "${plugin}" is not connected (not a background plugin): sending its init, then calling again\n`);
    },
  });
}

/** Retries the call each time a client connects, until the named one is there or the time is up. */
function callWhenConnected(api: HostApiClient, client: string, call: (leftMs: number) => Promise<unknown>, timeoutMs: number): Promise<unknown> {
  return retryWhenClientsConnect(
    api,
    timeoutMs,
    async (leftMs) => {
      try {
        return { value: await call(leftMs) };
      } catch (error) {
        if (!(error instanceof ApiAnswerError) || error.kind !== 'no-such-client') throw error;
        return undefined;
      }
    },
    `No client ${JSON.stringify(client)} connected within ${timeoutMs} ms.`,
  );
}
