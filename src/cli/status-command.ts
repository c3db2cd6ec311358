import { COMMON_HELP } from './cli-context.js';
import { API_COMMAND_EXIT_CODES, parseApiCommand, runApiCommand } from './api-command.js';
import { EXIT, connectToHost } from './running-host.js';

export const STATUS_HELP = `Usage: sonarhost status [options]

Says whether a sonarhost is running for the certificate folder, and where: its version, process
id, start time, API and dashboard address, and how many apps are connected. The host records its
address in <cert-dir>/api.json while it runs; a file left by a host that died is recognised.

Options:
  --json               print the answer as JSON

${API_COMMAND_EXIT_CODES}

${COMMON_HELP}`;

export async function statusCommand(args: string[]): Promise<number> {
  return runApiCommand(async () => {
    const parsed = await parseApiCommand<{ json?: boolean }>(args, { json: { type: 'boolean' } }, { min: 0, max: 0, usage: 'sonarhost status [--json]' });
    if (!parsed) {
      process.stdout.write(STATUS_HELP + '\n');
      return EXIT.ok;
    }
    const { host, api } = await connectToHost(parsed.certDir);
    try {
      const health = (await api.request('health')) as { clients: number; uptimeSeconds: number };
      const { url, wsUrl, pid, version, startedAt } = host.record;
      if (parsed.values.json) {
        process.stdout.write(JSON.stringify({ running: true, url, wsUrl, pid, version, startedAt, clients: health.clients, certDir: parsed.certDir }, null, 2) + '\n');
      } else {
        process.stdout.write(
          `sonarhost ${version} is running (pid ${pid}, since ${startedAt})\n` +
            `  API        ${url}  (token in ${parsed.certDir}/api.token)\n` +
            `  WebSocket  ${wsUrl}\n` +
            `  dashboard  ${url}/\n` +
            `  clients    ${health.clients}\n`,
        );
      }
      return EXIT.ok;
    } finally {
      api.close();
    }
  });
}
