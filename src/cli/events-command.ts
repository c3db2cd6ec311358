import { COMMON_HELP } from './cli-context.js';
import { API_COMMAND_EXIT_CODES, parseApiCommand, runApiCommand } from './api-command.js';
import { type ApiEvent } from './host-api-client.js';
import { EXIT, connectToHost } from './running-host.js';

export const EVENTS_HELP = `Usage: sonarhost events [options]

Follows the running host's events until Ctrl-C: apps connecting and disconnecting, plugin events
they send, certificate exchanges and device changes. One line per event.

Options:
  --client C           only events of this client (full id, short id, app id or app name)
  --plugin P           only plugin events of this plugin
  --recent             first print the events the host kept from before (a bounded ring)
  --json               one JSON object per line, as the API sends it

${API_COMMAND_EXIT_CODES}
  (events exits 0 on Ctrl-C or SIGTERM, and 3 when the host stops)

${COMMON_HELP}`;

export async function eventsCommand(args: string[]): Promise<number> {
  return runApiCommand(async () => {
    const parsed = await parseApiCommand<{ client?: string; plugin?: string; json?: boolean; recent?: boolean }>(
      args,
      { client: { type: 'string' }, plugin: { type: 'string' }, json: { type: 'boolean' }, recent: { type: 'boolean' } },
      { min: 0, max: 0, usage: 'sonarhost events [--client C] [--plugin P] [--recent] [--json]' },
    );
    if (!parsed) {
      process.stdout.write(EVENTS_HELP + '\n');
      return EXIT.ok;
    }
    const { values } = parsed;
    const { api } = await connectToHost(parsed.certDir);
    // Ending by our own choice (Ctrl-C, SIGTERM, the reader of our output went away, as `| head -1`
    // does) is a quiet exit 0; only the host closing on us is reported.
    let stopping = false;
    const ended = new Promise<number>((resolve) => {
      api.onClose((error) => {
        if (stopping) return;
        process.stderr.write(`sonarhost: ${error.message}\n`);
        resolve(EXIT.notRunning);
      });
      const stop = () => {
        if (stopping) return;
        stopping = true;
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        api.close();
        resolve(EXIT.ok);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') return stop();
        throw error;
      });
    });
    await api.subscribe({ client: values.client, plugin: values.plugin, recent: values.recent }, (event) => {
      if (stopping) return;
      process.stdout.write((values.json ? JSON.stringify(event) : formatEvent(event)) + '\n');
    });
    return ended;
  });
}

export function formatEvent(event: ApiEvent): string {
  const time = typeof event.at === 'string' ? event.at.slice(11, 23) : '';
  const e = event as Record<string, unknown>;
  switch (event.type) {
    case 'plugin-event':
      return `${time}  ${String(e.clientId)}  ${String(e.plugin)}.${String(e.method)}  ${JSON.stringify(e.params ?? null).slice(0, 500)}`;
    case 'client-connected': {
      const client = e.client as Record<string, unknown>;
      return `${time}  connected     ${String(client.shortId)}  ${String(client.id)}  plugins: ${(client.plugins as string[]).join(', ')}`;
    }
    case 'client-disconnected':
      return `${time}  disconnected  ${String(e.clientId)}`;
    case 'exchange':
      return `${time}  exchange      ${String(e.app)} (${String(e.os)}) ${e.ok ? 'ok' : `failed: ${String(e.error)}`}`;
    case 'device':
      return `${time}  device        ${String(e.transport)} ${String(e.deviceId)}: ${String(e.state)}`;
    default:
      return `${time}  ${event.type}  ${JSON.stringify(event).slice(0, 500)}`;
  }
}
