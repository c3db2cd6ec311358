import { parseArgs } from 'node:util';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { clientShortId } from '../core/client-short-id.js';
import { type HostConfig } from '../core/host-config.js';
import { HostError, describeError } from '../core/host-error.js';
import { type Logger } from '../core/logger.js';
import { sonarhostVersion } from '../core/sonarhost-version.js';
import { type RunningHost, startConfiguredHost } from '../host/start-host.js';
import { COMMON_HELP, COMMON_OPTIONS, configFolder, createCliLogger, loadConfigFromFlags } from './cli-context.js';
import { EmbeddedHostAccess, type HostAccess, RemoteHostAccess } from './mcp-host-access.js';
import { MCP_TOOLS, boundedJson, clientResource, clientUri, toolErrorText } from './mcp-tools.js';

export const MCP_HELP = `Usage: sonarhost mcp [--embedded] [options]

A Model Context Protocol server on stdin/stdout, for coding agents and other MCP clients: it lists
the connected apps and devices, calls app plugins, waits for an app, reads the host's recent events
and runs the doctor's checks. Each connected app is also a resource, sonarhost://clients/<short id>,
and clients are told when the list changes. Logs go to stderr; stdout carries only the protocol.

By default it talks to the sonarhost already running for the certificate folder (as "status",
"clients" and "call" find it), connecting when a tool first needs it and again after the host
restarts. With --embedded it starts its own host in this process, with the same configuration
as "sonarhost start", and stops it when the MCP client closes the connection.

Options:
  --embedded           run a host inside the MCP server instead of using the running one

An MCP client's configuration (the package is not on the npm registry: give the path of its main.js):
  {"mcpServers": {"sonarhost": {"command": "node", "args": ["/path/to/sonarhost/dist/src/cli/main.js", "mcp"]}}}

Tools: ${Object.keys(MCP_TOOLS).join(', ')}

${COMMON_HELP}`;

export async function mcpCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...COMMON_OPTIONS, embedded: { type: 'boolean' } }, strict: true });
  if (values.help) {
    process.stdout.write(MCP_HELP + '\n');
    return 0;
  }
  const loaded = await loadConfigFromFlags(values);
  const { config, file } = loaded;
  const logger = createCliLogger(config.logLevel, process.stderr);
  const log = logger.child('mcp');
  const access: HostAccess = values.embedded ? new EmbeddedHostAccess(await startEmbedded(config, logger, configFolder(file))) : new RemoteHostAccess(loaded);
  log.info('MCP server on stdio', { host: access.description });

  const server = new McpServer(
    { name: 'sonarhost', version: sonarhostVersion() },
    { instructions: `Tools to look inside apps that embed a Flipper SDK, through ${access.description}. Start with list_clients (or wait_for_client), then list_plugins and call_plugin; recent_events shows what the apps sent.` },
  );
  for (const [name, definition] of Object.entries(MCP_TOOLS)) {
    server.registerTool(name, { description: definition.description, inputSchema: definition.input, annotations: { readOnlyHint: definition.readOnly, openWorldHint: false } }, async (input: unknown) => {
      try {
        const result = await (definition.run as (host: HostAccess, args: unknown) => Promise<unknown>)(access, input ?? {});
        return { content: [{ type: 'text' as const, text: boundedJson(result) }] };
      } catch (error) {
        log.debug('tool failed', { tool: name, error: describeError(error) });
        return { content: [{ type: 'text' as const, text: toolErrorText(error) }], isError: true };
      }
    });
  }
  server.registerResource(
    'client',
    new ResourceTemplate('sonarhost://clients/{shortId}', {
      list: async () => ({ resources: (await access.clients().catch(() => [])).map((c) => ({ ...clientResource(c), mimeType: 'application/json' })) }),
    }),
    { description: 'A connected app: its ids, device, plugins and when it connected', mimeType: 'application/json' },
    async (_uri, { shortId }) => {
      const found = (await access.clients()).find((c) => clientShortId(c.id) === shortId);
      if (!found) throw new Error(`No connected app has the short id ${String(shortId)}; list_clients shows the connected ones.`);
      return { contents: [{ uri: clientUri(found), mimeType: 'application/json', text: boundedJson(found) }] };
    },
  );
  const stopListening = access.onClientsChanged(() => {
    if (server.isConnected()) server.sendResourceListChanged();
  });

  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve()); // the client went away
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.connect(transport);
  await closed;
  stopListening();
  log.info('MCP client closed the connection; stopping');
  await server.close().catch(() => undefined);
  await access.close();
  return 0;
}

/** The embedded host; a port held by a running sonarhost is the likeliest failure, and has a simpler fix. */
async function startEmbedded(config: HostConfig, logger: Logger, configDir: string | undefined): Promise<RunningHost> {
  try {
    return await startConfiguredHost(config, { logger, configDir });
  } catch (error) {
    if (HostError.is(error) && /already in use/.test(error.message)) {
      throw new HostError(error.kind, `${error.message} If a sonarhost already runs there, drop --embedded: "sonarhost mcp" uses the running host.`, { cause: error });
    }
    throw error;
  }
}

