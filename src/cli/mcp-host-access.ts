import { type ClientCandidate, ClientLookupError } from '../core/client-directory.js';
import { type HealthCheck } from '../core/health-check.js';
import { type LoadedConfig } from '../host/load-host-config.js';
import { HostError, describeError } from '../core/host-error.js';
import { type ClientInfo, type HostEvent } from '../core/host-events.js';
import { AppResponseError } from '../core/protocol/json-message.js';
import { type DeviceReport, type RunningHost } from '../host/start-host.js';
import { doctorChecks } from './doctor-command.js';
import { ApiAnswerError, type HostApiClient } from './host-api-client.js';
import { CliFailure, connectToHost, type RunningHost as RecordedHost } from './running-host.js';

/** What the MCP tools need of a host, whether it runs in another process (its API) or in this one (startHost). */
export interface HostAccess {
  /** Says which host the tools see, for the server's instructions and `doctor`. */
  readonly description: string;
  clients(): Promise<ClientInfo[]>;
  devices(): Promise<DeviceReport[]>;
  /** A plugin-protocol request, as the API's `call`. */
  request(client: string, method: string, params: unknown, timeoutMs: number): Promise<unknown>;
  /** The plugin protocol's fire-and-forget `init`. */
  init(client: string, plugin: string): Promise<void>;
  /** The host's recent events (its bounded ring), oldest first. */
  recentEvents(): Promise<HostEvent[]>;
  /** Calls `listener` when an app connects or disconnects, or the host itself comes or goes. */
  onClientsChanged(listener: () => void): () => void;
  doctor(): Promise<HealthCheck[]>;
  close(): Promise<void>;
}

/** Every failure of a HostAccess, in one shape the tools turn into an MCP tool error. */
export class HostAccessError extends Error {
  constructor(
    readonly kind: 'not-running' | 'no-such-client' | 'ambiguous-client' | 'app-error' | 'timeout' | 'client-disconnected' | 'failed',
    message: string,
    readonly candidates: readonly ClientCandidate[] = [],
    readonly appError?: unknown,
  ) {
    super(message);
  }
}

export const HOW_TO_START = 'Start one in a terminal with "sonarhost start" (or "npm start" in a sonarhost clone), or configure this MCP server as "sonarhost mcp --embedded" to run its own host.';

/** The host recorded in the certificate folder, through its WebSocket API; connects when first needed and again after the host restarts. */
export class RemoteHostAccess implements HostAccess {
  private api: HostApiClient | undefined;
  private host: RecordedHost | undefined;
  private connecting: Promise<HostApiClient> | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly retry: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly loaded: LoadedConfig,
    retryMs = 2000,
  ) {
    // Watches for a host that starts (or restarts) later, so resource-list notifications still come.
    this.retry = setInterval(() => void this.connection().catch(() => undefined), retryMs);
    void this.connection().catch(() => undefined);
  }

  get description(): string {
    return `the sonarhost running for the certificate folder ${this.loaded.config.certDir}${this.host ? ` (API ${this.host.record.url})` : ' (none is running yet)'}`;
  }

  async clients(): Promise<ClientInfo[]> {
    return (await this.remote((api) => api.clients())) as unknown as ClientInfo[];
  }

  async devices(): Promise<DeviceReport[]> {
    await this.connection();
    return (await this.get('/api/devices')) as DeviceReport[];
  }

  request(client: string, method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    return this.remote((api) => api.call(client, method, params, timeoutMs));
  }

  async init(client: string, plugin: string): Promise<void> {
    await this.remote((api) => api.init(client, plugin));
  }

  async recentEvents(): Promise<HostEvent[]> {
    await this.connection();
    return (await this.get('/api/events/recent')) as HostEvent[];
  }

  onClientsChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  doctor(): Promise<HealthCheck[]> {
    return doctorChecks(this.loaded);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.retry);
    this.api?.close();
    this.api = undefined;
  }

  private async remote<T>(work: (api: HostApiClient) => Promise<T>): Promise<T> {
    const api = await this.connection();
    try {
      return await work(api);
    } catch (error) {
      throw fromApiError(error);
    }
  }

  private connection(): Promise<HostApiClient> {
    if (this.api) return Promise.resolve(this.api);
    if (this.closed) return Promise.reject(new HostAccessError('failed', 'The MCP server is shutting down.'));
    this.connecting ??= (async () => {
      let found: { host: RecordedHost; api: HostApiClient };
      try {
        found = await connectToHost(this.loaded.config.certDir);
      } catch (error) {
        if (error instanceof CliFailure) throw new HostAccessError('not-running', `${error.message.replace(/ Start one with .*$/, '')} ${HOW_TO_START}`);
        throw error;
      }
      const { host, api } = found;
      api.onClose(() => {
        if (this.api !== api) return;
        this.api = undefined;
        this.host = undefined;
        this.changed();
      });
      await api.subscribe({ events: ['client-connected', 'client-disconnected'] }, () => this.changed());
      if (this.closed) {
        api.close();
        throw new HostAccessError('failed', 'The MCP server is shutting down.');
      }
      this.api = api;
      this.host = host;
      this.changed();
      return api;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async get(path: string): Promise<unknown> {
    const host = this.host;
    if (!host) throw new HostAccessError('not-running', `No sonarhost is running for the certificate folder ${this.loaded.config.certDir}. ${HOW_TO_START}`);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10_000);
    try {
      const response = await fetch(`${host.record.url}${path}`, { headers: { authorization: `Bearer ${host.token}` }, signal: controller.signal });
      if (!response.ok) throw new HostAccessError('failed', `The host's API answered ${path} with ${response.status}: ${(await response.text()).slice(0, 500)}`);
      return await response.json();
    } catch (error) {
      if (error instanceof HostAccessError) throw error;
      throw new HostAccessError('failed', `Could not ask the host's API for ${path}: ${describeError(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

function fromApiError(error: unknown): unknown {
  if (!(error instanceof ApiAnswerError)) {
    if (error instanceof HostAccessError) return error;
    return new HostAccessError('failed', `The host's API connection failed: ${describeError(error)}`);
  }
  const candidates = Array.isArray(error.body.candidates) ? (error.body.candidates as ClientCandidate[]) : [];
  switch (error.kind) {
    case 'no-such-client':
    case 'ambiguous-client':
    case 'timeout':
    case 'client-disconnected':
      return new HostAccessError(error.kind, error.message, candidates);
    case 'app-error':
      return new HostAccessError('app-error', error.message, [], error.body.error);
    default:
      return new HostAccessError('failed', error.message);
  }
}

/** A host this process started (`sonarhost mcp --embedded`), through its startHost handle. */
export class EmbeddedHostAccess implements HostAccess {
  constructor(private readonly host: RunningHost) {}

  get description(): string {
    const { rsocket, webSocket, api } = this.host.ports;
    return `the sonarhost embedded in this MCP server (certificate folder ${this.host.certDir}; RSocket ${rsocket?.insecure}/${rsocket?.secure}, WebSocket ${webSocket.insecure ?? 'off'}/${webSocket.secure ?? 'off'}, browser ${webSocket.browser ?? 'off'}, API ${api ?? 'off'})`;
  }

  async clients(): Promise<ClientInfo[]> {
    return this.host.clients();
  }

  devices(): Promise<DeviceReport[]> {
    return this.host.devices();
  }

  async request(client: string, method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    try {
      return await this.host.call(client, method, params, { timeout: timeoutMs });
    } catch (error) {
      throw fromHostError(error);
    }
  }

  async init(client: string, plugin: string): Promise<void> {
    try {
      this.host.init(client, plugin);
    } catch (error) {
      throw fromHostError(error);
    }
  }

  async recentEvents(): Promise<HostEvent[]> {
    return this.host.events.recent();
  }

  onClientsChanged(listener: () => void): () => void {
    return this.host.events.subscribe({ types: ['client-connected', 'client-disconnected'] }, () => listener());
  }

  async doctor(): Promise<HealthCheck[]> {
    return [{ name: 'sonarhost', status: 'ok', detail: `running: ${this.description}` }, ...(await this.host.checks())];
  }

  close(): Promise<void> {
    return this.host.stop();
  }
}

function fromHostError(error: unknown): unknown {
  if (error instanceof ClientLookupError) return new HostAccessError(error.kind as 'no-such-client' | 'ambiguous-client', error.message, error.candidates);
  if (error instanceof AppResponseError) return new HostAccessError('app-error', error.message, [], error.appError);
  if (HostError.is(error, 'timeout')) return new HostAccessError('timeout', error.message);
  if (HostError.is(error, 'client-disconnected')) return new HostAccessError('client-disconnected', error.message);
  return new HostAccessError('failed', describeError(error));
}
