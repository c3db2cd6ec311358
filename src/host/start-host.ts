import { CertificateStore, type CertificateReport } from '../core/certificate-store.js';
import { resolveClient } from '../core/client-directory.js';
import { ClientRegistry, clientInfo } from '../core/client-registry.js';
import { DeviceTransport, type DeviceSummary, reportDevices } from '../core/device-transport.js';
import { EventFeed } from '../core/event-feed.js';
import { type HealthCheck } from '../core/health-check.js';
import { type HostConfig, type HostLimits } from '../core/host-config.js';
import { HostError, describeError } from '../core/host-error.js';
import { type HostEventFilter, hostEventMatcher } from '../core/host-event-filter.js';
import { type ClientInfo, type HostEvent } from '../core/host-events.js';
import { HostService } from '../core/host-service.js';
import { type LogLevel, type LogSink, type Logger, SinkLogger, silentLogger } from '../core/logger.js';
import { type PluginDescriptor, apiVersionProblem, descriptorProblems } from '../core/plugin-descriptor.js';
import { BUILTIN_PLUGINS } from './builtin-plugins.js';
import { type ConfigOrigin, defaultConfig } from './config-sources.js';
import { type HostContainerOverrides, createHostContainer } from './create-host-container.js';
import { applyConfigObject } from './load-host-config.js';

/** A plugin in startHost's options: a built-in id, a module path or package name (as in the config file), or the descriptor itself. */
export type PluginRef = string | PluginDescriptor;

/**
 * The settings of the config file (README, "Configuration"), each optional and checked the same way,
 * plus what only code can pass: plugin descriptors as objects, and where the logs go. Port 0 means
 * any free port; `ports` on the handle says which were bound.
 */
export interface StartHostOptions {
  host?: string | string[];
  ports?: { insecure?: number; secure?: number };
  webSocket?: { insecure?: number | false; secure?: number | false; browser?: number | false };
  api?: { port?: number | false };
  /** The flipper-server-compatible endpoint for Flipper's UI (52342 by default); `false` turns it off. */
  flipperServer?: { port?: number | false };
  /** The certificate folder (default ~/.sonar); a relative path is relative to `cwd`. */
  certDir?: string;
  /** The least severe records `logSink` receives (default info). */
  logLevel?: LogLevel;
  /** As in the config file, a list replaces the default list of its slot. */
  plugins?: {
    certificateStore?: PluginRef;
    exchange?: PluginRef;
    transports?: PluginRef[];
    deviceTransports?: PluginRef[];
    connectionHandlers?: PluginRef[];
    services?: PluginRef[];
  };
  limits?: Partial<HostLimits>;
  pluginOptions?: Record<string, Record<string, unknown>>;
  /** A logger of your own; or */
  logger?: Logger;
  /** where log records go (filtered by `logLevel`). With neither, the host logs nothing. */
  logSink?: LogSink;
  /** What relative paths are relative to, and the first place plugin packages are looked up (default process.cwd()). */
  cwd?: string;
}

/** The ports the host bound, by service. A plugin's own endpoints are in `byId` under the ids it gives them. */
export interface HostPorts {
  /** What FlipperClient's `ports` option takes. */
  rsocket?: { insecure: number; secure: number };
  webSocket: { insecure?: number; secure?: number; browser?: number };
  /** The HTTP API and dashboard, on 127.0.0.1. */
  api?: number;
  /** The flipper-server-compatible service, when one is selected and listening. */
  flipperServer?: number;
  /** Every endpoint, by its dotted id (`rsocket.insecure`, `websocket.browser`, `api`, …). */
  byId: Readonly<Record<string, number>>;
}

/** The devices each device transport knows, as `sonarhost devices` and `/api/devices` report them. */
export interface DeviceReport {
  transport: string;
  devices: DeviceSummary[];
  problem?: string;
}

export interface CallOptions {
  /** Milliseconds to wait for the app's answer (default 30000); then a HostError of kind `timeout`. */
  timeout?: number;
  /** Gives the call up early: it rejects with the signal's reason and is cancelled on the connection. */
  signal?: AbortSignal;
}

export interface HostEventSubscriptions {
  /** Calls `listener` with each new event that passes `filter`, until the returned function is called. */
  subscribe(filter: HostEventFilter, listener: (event: HostEvent) => void): () => void;
  /** The recent events the host kept (a ring bounded by count and bytes), oldest first, that pass `filter`. */
  recent(filter?: HostEventFilter): HostEvent[];
}

export interface RunningHost {
  readonly config: HostConfig;
  readonly certDir: string;
  readonly ports: HostPorts;
  readonly plugins: readonly PluginDescriptor[];
  /** The certificate authority as prepared at start (fingerprints, expiry, what was renewed). */
  readonly certificates: CertificateReport;
  /** The connected apps. */
  clients(): ClientInfo[];
  devices(): Promise<DeviceReport[]>;
  /**
   * A plugin-protocol request to the client `client` names (full id, short id, app id or app name, as
   * the API takes them): `call('My App', 'execute', {api: 'demo', method: 'echo', params})`, or a
   * protocol method such as `getPlugins`. Resolves with the app's answer; rejects with a HostError
   * (`no-such-client` or `ambiguous-client` with `candidates`, `timeout`, `client-disconnected`) or
   * with the app's own error (`AppResponseError`, its `appError` as the app sent it).
   */
  call(client: string, method: string, params?: unknown, options?: CallOptions): Promise<unknown>;
  /**
   * Sends the plugin protocol's fire-and-forget `init` for one plugin of a client, as a UI does when it
   * opens the plugin: a plugin that is not a background plugin answers `execute` only after it.
   */
  init(client: string, plugin: string): void;
  readonly events: HostEventSubscriptions;
  /** Read-only checks of the certificate store and the device transports, as `sonarhost doctor` shows them. */
  checks(): Promise<HealthCheck[]>;
  /** Stops every service, closes every connection and frees every port and timer; idempotent. */
  stop(): Promise<void>;
}

/** How the CLI composes a host from a loaded config: its logger, and the config file's folder. */
export interface HostComposition {
  logger?: Logger;
  configDir?: string;
  cwd?: string;
  /** Plugins passed as objects, found by id before the built-in ones. */
  extraPlugins?: readonly PluginDescriptor[];
  /** Called before each plugin module file is imported (the CLI logs which files a config makes it run). */
  beforeImport?: HostContainerOverrides['beforeImport'];
}

/**
 * Starts a host in this process: the public face of the composition root (`sonarhost/host`). The CLI's
 * `start` and `mcp --embedded` start theirs through the same path (startConfiguredHost).
 */
export async function startHost(options: StartHostOptions = {}): Promise<RunningHost> {
  const { logger, logSink, cwd = process.cwd(), ...settings } = options;
  const { config, extraPlugins } = parseHostOptions(settings, cwd);
  const log = logger ?? (logSink ? new SinkLogger(logSink, config.logLevel) : silentLogger);
  return startConfiguredHost(config, { logger: log, cwd, extraPlugins });
}

const OPTIONS_ORIGIN: ConfigOrigin = 'startHost options';

/**
 * startHost's settings as a HostConfig, checked by the config file's own rules (so a bad option gets the
 * same message naming the key). Descriptor objects are checked here and stand in the config by their id.
 */
export function parseHostOptions(settings: Omit<StartHostOptions, 'logger' | 'logSink' | 'cwd'>, cwd: string): { config: HostConfig; extraPlugins: PluginDescriptor[] } {
  const extraPlugins: PluginDescriptor[] = [];
  const byId = (ref: unknown, key: string): unknown => {
    if (typeof ref !== 'object' || ref === null) return ref; // strings (and mistakes) are checked as in a file
    const problems = descriptorProblems(ref);
    if (problems.length > 0) throw new HostError('config-invalid', `Invalid ${key} (from ${OPTIONS_ORIGIN}): not a plugin descriptor: ${problems.join('; ')}.`);
    const plugin = ref as PluginDescriptor;
    const versionProblem = apiVersionProblem(plugin.apiVersion);
    if (versionProblem) throw new HostError('plugin-invalid', `${key}: plugin "${plugin.id}" cannot be loaded: ${versionProblem}.`);
    const same = extraPlugins.find((p) => p.id === plugin.id);
    if (same && same !== plugin) throw new HostError('config-invalid', `${key}: two different plugin descriptors have the id "${plugin.id}".`);
    if (!same) extraPlugins.push(plugin);
    return plugin.id;
  };
  let raw: unknown = settings;
  const plugins = (settings as { plugins?: unknown }).plugins;
  if (typeof plugins === 'object' && plugins !== null && !Array.isArray(plugins)) {
    const named: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(plugins)) {
      named[key] = Array.isArray(value) ? value.map((v, i) => byId(v, `plugins.${key}[${i}]`)) : byId(value, `plugins.${key}`);
    }
    raw = { ...settings, plugins: named };
  }
  const config = defaultConfig();
  applyConfigObject(config, {}, raw, { origin: OPTIONS_ORIGIN, where: 'the options of startHost (which also take logger, logSink and cwd)', baseDir: cwd, minPort: 0 });
  return { config, extraPlugins };
}

/** Composes a host from a checked config, starts it, and returns its handle. */
export async function startConfiguredHost(config: HostConfig, composition: HostComposition = {}): Promise<RunningHost> {
  const { container, host, plugins } = await createHostContainer(config, {
    logger: composition.logger,
    configDir: composition.configDir,
    cwd: composition.cwd,
    catalog: composition.extraPlugins?.length ? [...composition.extraPlugins, ...BUILTIN_PLUGINS] : BUILTIN_PLUGINS,
    beforeImport: composition.beforeImport,
  });
  const registry = container.get(ClientRegistry);
  const feed = container.get(EventFeed);
  const transports = container.isBound(DeviceTransport) ? container.getAll<DeviceTransport>(DeviceTransport) : [];
  // Retained before the servers start, so the first app's connection is in the ring.
  const retained = feed.retain();
  let certificates: CertificateReport;
  try {
    certificates = await host.start();
  } catch (error) {
    await retained.dispose();
    throw error;
  }
  const services = container.isBound(HostService) ? container.getAll<HostService>(HostService) : [];
  let stopping: Promise<void> | undefined;
  const connectedClients = () => registry.list().map((s) => ({ id: s.id, app: s.query.app, appId: s.appId }));

  return {
    config,
    certDir: config.certDir,
    ports: boundPorts(services),
    plugins,
    certificates,
    clients: () => registry.list().map(clientInfo),
    devices: () => reportDevices(transports),
    call: async (client, method, params, options = {}) => {
      if (stopping) throw new HostError('client-disconnected', 'The host is stopped.');
      return resolveClient(registry, client).request(method, params, options.timeout, options.signal);
    },
    init: (client, plugin) => resolveClient(registry, client).init(plugin),
    events: {
      subscribe: (filter, listener) => {
        const matches = hostEventMatcher(filter, connectedClients());
        const subscription = feed.subscribe(({ event }) => {
          if (matches(event)) listener(event);
        });
        return () => void subscription.dispose();
      },
      recent: (filter = {}) => {
        const matches = hostEventMatcher(filter);
        return feed.recent().map((f) => f.event).filter(matches);
      },
    },
    checks: async () => {
      const checks: HealthCheck[] = [];
      const store = container.get<CertificateStore>(CertificateStore);
      checks.push(...(await checkSafely('certificates', () => store.check?.() ?? Promise.resolve([]))));
      for (const transport of transports) checks.push(...(await checkSafely(transport.id, () => transport.check?.() ?? Promise.resolve([]))));
      return checks;
    },
    stop: () => {
      stopping ??= host.stop().finally(() => retained.dispose());
      return stopping;
    },
  };
}

function boundPorts(services: readonly HostService[]): HostPorts {
  const byId: Record<string, number> = {};
  for (const service of services) for (const endpoint of service.endpoints?.() ?? []) byId[endpoint.id] = endpoint.port;
  const ports: HostPorts = { webSocket: {}, byId };
  if (byId['rsocket.insecure'] !== undefined && byId['rsocket.secure'] !== undefined) ports.rsocket = { insecure: byId['rsocket.insecure'], secure: byId['rsocket.secure'] };
  for (const listener of ['insecure', 'secure', 'browser'] as const) if (byId[`websocket.${listener}`] !== undefined) ports.webSocket[listener] = byId[`websocket.${listener}`];
  if (byId.api !== undefined) ports.api = byId.api;
  if (byId['flipper-server'] !== undefined) ports.flipperServer = byId['flipper-server'];
  return ports;
}

async function checkSafely(name: string, run: () => Promise<HealthCheck[]>): Promise<HealthCheck[]> {
  try {
    return await run();
  } catch (error) {
    return [{ name, status: 'fail', detail: `the check itself failed: ${describeError(error)}` }];
  }
}
