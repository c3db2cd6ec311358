import { z } from 'zod';
import { ClientLookupError, clientMatches, pickClient } from '../core/client-directory.js';
import { clientShortId } from '../core/client-short-id.js';
import { hostEventMatcher } from '../core/host-event-filter.js';
import { type ClientInfo } from '../core/host-events.js';
import { answersNotConnected, callWithInit } from './call-with-init.js';
import { type HostAccess, HostAccessError } from './mcp-host-access.js';

/** The largest text a tool hands the agent; a larger answer is cut, with a note that says so. */
export const MAX_RESULT_CHARS = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 120_000;

const timeout = z.number().int().positive().max(MAX_TIMEOUT_MS).optional().describe(`milliseconds to wait (default ${DEFAULT_TIMEOUT_MS}, at most ${MAX_TIMEOUT_MS})`);
const client = z.string().min(1).describe('the app: its short id, full client id, app id (e.g. com.example.app) or app name, as list_clients shows them');

interface Tool<S extends z.ZodRawShape> {
  description: string;
  input: S;
  /** Read-only tools say so, so clients may run them without asking the user. */
  readOnly: boolean;
  run(host: HostAccess, args: z.infer<z.ZodObject<S>>): Promise<unknown>;
}

function tool<S extends z.ZodRawShape>(definition: Tool<S>): Tool<S> {
  return definition;
}

/**
 * The MCP server's tools, one entry each: the name an agent calls, what it does and when to use it,
 * its arguments (JSON schema, from zod), and what it does against the host.
 */
export const MCP_TOOLS = {
  list_clients: tool({
    description: 'Lists the apps connected to sonarhost (apps with a Flipper SDK): short id, app name, app id, os, device, device id, plugins, background plugins, connected since. Start here; name an app in the other tools by its short id.',
    input: {},
    readOnly: true,
    run: async (host) => (await host.clients()).map(summary),
  }),

  list_devices: tool({
    description: 'Lists the devices the host\'s device transports know: Android devices (adb), iOS simulators, iPhones, this computer. Says per transport when it is unavailable (e.g. no adb).',
    input: {},
    readOnly: true,
    run: (host) => host.devices(),
  }),

  list_plugins: tool({
    description: 'Asks a connected app for its plugins (getPlugins) and background plugins (getBackgroundPlugins). Plugin ids go into call_plugin and recent_events.',
    input: { client, timeoutMs: timeout },
    readOnly: true,
    run: async (host, { client, timeoutMs }) => {
      const ms = timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const plugins = (await host.request(client, 'getPlugins', undefined, ms)) as { plugins?: string[] };
      const background = await host.request(client, 'getBackgroundPlugins', undefined, ms).catch(() => ({ plugins: [] }));
      return { plugins: plugins.plugins ?? [], backgroundPlugins: (background as { plugins?: string[] }).plugins ?? [] };
    },
  }),

  call_plugin: tool({
    description:
      'Calls a method (a "receiver") of a plugin in a connected app and returns its answer as JSON, e.g. plugin "network", method "getRequests". ' +
      'A plugin that is not running in the background is initialised first (the plugin protocol\'s init, as a Flipper UI does when it opens the plugin). ' +
      `Answers longer than ${MAX_RESULT_CHARS} characters are cut; ask for less with params when a plugin supports it.`,
    input: {
      client,
      plugin: z.string().min(1).describe('the plugin id, as list_plugins shows it'),
      method: z.string().min(1).describe('the method (receiver) of the plugin'),
      params: z.unknown().optional().describe('the parameters, any JSON value (default none)'),
      timeoutMs: timeout,
    },
    readOnly: false,
    run: (host, { client, plugin, method, params, timeoutMs }) => callPlugin(host, client, plugin, method, params, timeoutMs ?? DEFAULT_TIMEOUT_MS),
  }),

  wait_for_client: tool({
    description: 'Waits until an app is connected, then returns it as list_clients does. Use it after starting or restarting an app. Without "client", waits for any app.',
    input: { client: client.optional(), timeoutMs: timeout },
    readOnly: true,
    run: (host, { client, timeoutMs }) => waitForClient(host, client, timeoutMs ?? DEFAULT_TIMEOUT_MS),
  }),

  recent_events: tool({
    description:
      'Returns the events the host kept (a bounded ring of the latest): apps connecting and disconnecting, plugin events apps sent (plugin, method, params), certificate exchanges, device changes. ' +
      'Filter by client and plugin; "since" (an ISO time from an earlier event\'s "at") returns only newer events.',
    input: {
      client: client.optional(),
      plugin: z.string().min(1).optional().describe('only plugin events of this plugin id'),
      since: z.iso.datetime({ offset: true }).optional().describe('only events after this ISO 8601 time'),
      limit: z.number().int().positive().max(500).optional().describe('at most this many, the newest (default 50)'),
    },
    readOnly: true,
    run: async (host, { client, plugin, since, limit }) => {
      const matches = hostEventMatcher({ client, plugin }, (await host.clients().catch(() => [])).map((c) => ({ id: c.id, app: c.app, appId: c.appId })));
      const after = since === undefined ? undefined : Date.parse(since);
      const events = (await host.recentEvents()).filter((e) => matches(e) && (after === undefined || Date.parse(e.at) > after));
      return events.slice(-(limit ?? 50));
    },
  }),

  doctor: tool({
    description: 'Checks the setup without changing anything: the host and its ports, the certificate folder and expiry, adb, iOS simulators. Each check has status ok, warn or fail, and "fix" says what to do.',
    input: {},
    readOnly: true,
    run: (host) => host.doctor(),
  }),
} as const;

export type McpToolName = keyof typeof MCP_TOOLS;

/** The client as list_clients shows it. */
function summary(c: ClientInfo): Record<string, unknown> {
  return { shortId: c.shortId, id: c.id, app: c.app, appId: c.appId, os: c.os, device: c.device, deviceId: c.deviceId, plugins: c.plugins, backgroundPlugins: c.backgroundPlugins, connectedSince: c.connectedSince };
}

/**
 * `execute` on the plugin; a plugin that is not connected yet (the app answers ConnectionNotFound: a
 * plugin not running in the background, or one no handler claimed) gets `init` and the call is sent again.
 */
async function callPlugin(host: HostAccess, ref: string, plugin: string, method: string, params: unknown, timeoutMs: number): Promise<unknown> {
  const target = pickClient(await host.clients(), ref);
  if (!target.plugins.includes(plugin)) {
    throw new HostAccessError('failed', `The app ${target.app} (${target.shortId}) has no plugin "${plugin}". Its plugins: ${target.plugins.join(', ') || 'none'}.`);
  }
  return callWithInit({
    execute: (leftMs) => host.request(target.id, 'execute', { api: plugin, method, params }, leftMs),
    init: () => host.init(target.id, plugin),
    notConnected: (error) => error instanceof HostAccessError && error.kind === 'app-error' && answersNotConnected(error.appError),
    timeoutMs,
  });
}

async function waitForClient(host: HostAccess, ref: string | undefined, timeoutMs: number): Promise<unknown> {
  const find = async () => {
    const clients = await host.clients();
    const found = ref === undefined ? clients : clients.filter((c) => clientMatches(ref, c));
    if (found.length === 0) return undefined;
    return ref === undefined ? found.map(summary) : summary(pickClient(found, ref));
  };
  let wake: () => void = () => undefined;
  const stopListening = host.onClientsChanged(() => wake());
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const found = await find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const connected = (await host.clients()).map((c) => `${c.shortId} (${c.app})`).join(', ') || 'none';
        throw new HostAccessError('timeout', `No app ${ref === undefined ? '' : `matching ${JSON.stringify(ref)} `}connected within ${timeoutMs} ms (connected: ${connected}). Is the app running, with its Flipper SDK enabled and pointed at this host? The doctor tool checks the setup.`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    stopListening();
  }
}

/** A tool's answer as the text the agent reads: JSON, cut at MAX_RESULT_CHARS with a note that says how much was left out. */
export function boundedJson(value: unknown, limit = MAX_RESULT_CHARS): string {
  const text = JSON.stringify(value === undefined ? null : value, null, 2) ?? 'null';
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}\n… [truncated: the answer is ${text.length} characters, only the first ${limit} are shown; ask for less, e.g. with params that select fewer items]`;
}

/** A failure as the text of an MCP tool error: what happened and what to do. */
export function toolErrorText(error: unknown): string {
  if (error instanceof ClientLookupError || (error instanceof HostAccessError && error.candidates.length > 0)) {
    const candidates = (error as { candidates: ReadonlyArray<{ id: string; shortId: string; app: string; appId: string; device: string }> }).candidates;
    const list = candidates.map((c) => `  ${c.shortId}  ${c.app}  ${c.appId}  on ${c.device}  (${c.id})`).join('\n');
    return `${error.message}\n${candidates.length > 0 ? `Name one of these by its short id:\n${list}` : 'Start the app (with its Flipper SDK enabled), then use wait_for_client.'}`;
  }
  if (error instanceof HostAccessError) {
    switch (error.kind) {
      case 'no-such-client':
        return `${error.message}\nStart the app (with its Flipper SDK enabled), then use wait_for_client.`;
      case 'app-error':
        return `${error.message}\nThe app's error: ${boundedJson(error.appError, 4000)}`;
      case 'timeout':
        return `${error.message}\nThe app may be busy or paused in a debugger; try again, or with a larger timeoutMs.`;
      case 'client-disconnected':
        return `${error.message}\nUse wait_for_client to wait for it to reconnect.`;
      default:
        return error.message;
    }
  }
  return `sonarhost failed: ${error instanceof Error ? error.message : String(error)}`;
}

/** What a resource says of one client. */
export function clientResource(c: ClientInfo): { uri: string; name: string; description: string } {
  return { uri: clientUri(c), name: `${c.app} on ${c.device}`, description: `${c.appId} (${c.os}), plugins: ${c.plugins.join(', ') || 'none'}` };
}

export function clientUri(c: { id: string }): string {
  return `sonarhost://clients/${clientShortId(c.id)}`;
}
