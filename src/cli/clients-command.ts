import { COMMON_HELP } from './cli-context.js';
import { API_COMMAND_EXIT_CODES, formatClientLines, parseApiCommand, retryWhenClientsConnect, runApiCommand } from './api-command.js';
import { type HostApiClient } from './host-api-client.js';
import { CliFailure, EXIT, connectToHost, connectToHostBy } from './running-host.js';

export const CLIENTS_HELP = `Usage: sonarhost clients [options]

Lists the apps connected to the running host: short id, app name, app id, device and full client id.
Any of the first three names a client in "sonarhost call" and "sonarhost events".

Options:
  --json               print the list as JSON (the API's client objects)
  --wait               wait until the host is up and at least one app is connected (for CI: start
                       the host and the app, then this)
  --timeout MS         how long --wait waits for both (default: 30000), then exit 5

${API_COMMAND_EXIT_CODES}

${COMMON_HELP}`;

export async function clientsCommand(args: string[]): Promise<number> {
  return runApiCommand(async () => {
    const parsed = await parseApiCommand<{ json?: boolean; wait?: boolean; timeout?: string }>(
      args,
      { json: { type: 'boolean' }, wait: { type: 'boolean' }, timeout: { type: 'string' } },
      { min: 0, max: 0, usage: 'sonarhost clients [--json] [--wait] [--timeout MS]' },
    );
    if (!parsed) {
      process.stdout.write(CLIENTS_HELP + '\n');
      return EXIT.ok;
    }
    const timeoutMs = parseTimeout(parsed.values.timeout, 30_000);
    const deadline = Date.now() + timeoutMs;
    // --wait also waits for the host itself: a CI script may start the host and the app together.
    const { api } = parsed.values.wait ? await connectToHostBy(parsed.certDir, deadline, timeoutMs) : await connectToHost(parsed.certDir);
    try {
      const clients = parsed.values.wait ? await waitForClients(api, Math.max(1, deadline - Date.now()), timeoutMs) : await api.clients();
      if (parsed.values.json) process.stdout.write(JSON.stringify(clients, null, 2) + '\n');
      else if (clients.length === 0) process.stdout.write('No app is connected.\n');
      else process.stdout.write(`  ${'short id'.padEnd(9)} ${'app'.padEnd(24)} ${'app id'.padEnd(28)} ${'device'.padEnd(16)} id\n` + formatClientLines(clients));
      return EXIT.ok;
    } finally {
      api.close();
    }
  });
}

/** Resolves with the client list once it is not empty; subscribes first so no connection is missed. */
function waitForClients(api: HostApiClient, leftMs: number, timeoutMs: number): Promise<Array<Record<string, unknown>>> {
  return retryWhenClientsConnect(
    api,
    leftMs,
    async () => {
      const clients = await api.clients();
      return clients.length > 0 ? { value: clients } : undefined;
    },
    `No app connected within ${timeoutMs} ms.`,
  );
}

export function parseTimeout(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0) throw new CliFailure(EXIT.usage, `--timeout takes a positive number of milliseconds, not ${JSON.stringify(value)}`);
  return ms;
}
