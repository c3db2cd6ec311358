import { type AppChannel } from './app-channel.js';
import { type ClientQuery } from './client-query.js';
import { type AppClient, type PluginEvent } from './connection-handler.js';
import { HostError, describeError } from './host-error.js';
import { type LogFields, type Logger } from './logger.js';
import { parseJsonObject, unwrapResponse } from './protocol/json-message.js';
import { withTimeout } from './timeout.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface AppSessionEvents {
  onEvent(session: AppSession, event: PluginEvent): void;
  onRefreshPlugins(session: AppSession): void;
}

/**
 * One registered app connection speaking the plugin protocol (docs/protocol-rsocket.md, "Plugin protocol"), independent of the
 * transport. sdk_version ≥ 1 uses request/response; older SDKs get requests as fire-and-forget with an
 * `id` and answer the same way.
 */
export class AppSession implements AppClient {
  /** Kept as a number: a Date object costs some 90 bytes more on every idle client. */
  private readonly connectedAtMs = Date.now();
  private nextId = 0;
  private pluginIds: string[] = [];
  private backgroundIds: string[] = [];
  /**
   * Requests of sdk_version 0 waiting for their fire-and-forget answer, and every request waiting for an
   * answer (so close() can end them instead of leaving them to time out). Both exist only while some
   * request waits: an empty Set or Map still costs its table, on every idle client.
   */
  private legacyPending: Map<number, { resolve: (value: Record<string, unknown>) => void; reject: (error: Error) => void }> | undefined;
  private waiting: Set<(error: Error) => void> | undefined;
  private closed = false;

  constructor(
    readonly id: string,
    readonly query: ClientQuery,
    readonly appId: string,
    private readonly channel: AppChannel,
    private readonly events: AppSessionEvents,
    private readonly log: Logger,
    private readonly timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
    private readonly maxPending = 1000,
  ) {}

  private pendingCount = 0;

  get connectedAt(): Date {
    return new Date(this.connectedAtMs);
  }

  plugins(): readonly string[] {
    return this.pluginIds;
  }
  backgroundPlugins(): readonly string[] {
    return this.backgroundIds;
  }

  /** Asks the app for its plugins (and background plugins, sdk_version ≥ 4). */
  async refreshPlugins(): Promise<void> {
    this.pluginIds = stringList(await this.request('getPlugins'), 'getPlugins');
    this.backgroundIds = this.query.sdkVersion >= 4 ? stringList(await this.request('getBackgroundPlugins'), 'getBackgroundPlugins') : [];
  }

  /** `signal` gives the request up early (rejecting with its reason) and cancels it on the channel. */
  async request(method: string, params?: unknown, timeoutMs = this.timeoutMs, signal?: AbortSignal): Promise<unknown> {
    signal?.throwIfAborted();
    if (this.closed) throw new HostError('client-disconnected', `The app ${this.query.app} is disconnected.`);
    if (this.pendingCount >= this.maxPending) {
      throw new HostError('too-many-pending', `${this.maxPending} requests to ${this.query.app} are already waiting for an answer; try again when it has caught up.`);
    }
    const id = this.nextId++;
    this.pendingCount++;
    const data = JSON.stringify(params === undefined ? { id, method } : { id, method, params });
    let rejectOnClose: (error: Error) => void = () => undefined;
    const closed = new Promise<never>((_, reject) => (rejectOnClose = reject));
    (this.waiting ??= new Set()).add(rejectOnClose);
    const onAbort = () => rejectOnClose(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    // Aborted when the request ends before the channel settled it (a timeout, the caller's signal, the
    // app gone), so the channel never keeps an entry for a request nobody waits for. Only then: the
    // HostError's stack trace and the abort event were a tenth of the host's CPU per answered call.
    const cancel = new AbortController();
    let channelSettled = false;
    const markSettled = () => void (channelSettled = true);
    const answer =
      this.query.sdkVersion >= 1
        ? this.channel.requestResponse(id, data, cancel.signal).finally(markSettled).then((text) => parseJsonObject(text, `The answer to ${method}`))
        : this.legacyRequest(id, data);
    const response = await withTimeout(Promise.race([answer, closed]), timeoutMs, `The app's answer to ${method}`).finally(() => {
      if (!channelSettled) cancel.abort(new HostError('timeout', `The request ${method} to ${this.query.app} was given up.`));
      this.waiting?.delete(rejectOnClose);
      if (this.waiting?.size === 0) this.waiting = undefined;
      signal?.removeEventListener('abort', onAbort);
      this.legacyPending?.delete(id);
      if (this.legacyPending?.size === 0) this.legacyPending = undefined;
      this.pendingCount--;
    });
    return unwrapResponse(response, method);
  }

  /** Requests whose entries the session and its channel still hold (0 once every request ended). */
  get pendingRequests(): number {
    return this.channel.pendingRequests + (this.legacyPending?.size ?? 0);
  }

  async call(plugin: string, method: string, params?: unknown): Promise<unknown> {
    return this.request('execute', { api: plugin, method, params });
  }

  async isMethodSupported(plugin: string, method: string): Promise<boolean> {
    if (this.query.sdkVersion < 2) return false; // as upstream: such SDKs cannot be asked
    const answer = (await this.request('isMethodSupported', { api: plugin, method })) as { isSupported?: unknown } | undefined;
    return answer?.isSupported === true;
  }

  init(plugin: string): void {
    this.send({ method: 'init', params: { plugin } });
  }

  deinit(plugin: string): void {
    this.send({ method: 'deinit', params: { plugin } });
  }

  /** Any fire-and-forget message to the app (what a UI relays as it is, such as Flipper's `client-request`). */
  notify(method: string, params?: unknown): void {
    this.send(params === undefined ? { method } : { method, params });
  }

  /** A fire-and-forget message from the app (docs/protocol-rsocket.md, "App → host messages"). Malformed ones are logged, never fatal: this never throws. */
  receive(text: unknown): void {
    try {
      this.handleMessage(text);
    } catch (error) {
      this.warn('ignored a message from the app that could not be handled', { error: describeError(error) });
    }
  }

  private handleMessage(text: unknown): void {
    let message: Record<string, unknown>;
    try {
      message = parseJsonObject(text, 'A message from the app');
    } catch (error) {
      this.warn('ignored a malformed message from the app', { error: describeError(error) });
      return;
    }
    const legacy = typeof message.id === 'number' ? this.legacyPending?.get(message.id) : undefined;
    if (legacy) {
      legacy.resolve(message);
      return;
    }
    if (message.method === 'execute') {
      const params = message.params as Record<string, unknown> | undefined;
      if (typeof params?.api !== 'string' || typeof params.method !== 'string') {
        this.warn('ignored an execute message without api or method');
        return;
      }
      this.events.onEvent(this, { plugin: params.api, method: params.method, params: params.params });
    } else if (message.method === 'refreshPlugins') {
      this.events.onRefreshPlugins(this);
    } else if ('error' in message) {
      this.warn('the app reported an error', { error: summarize(message.error) });
    } else if (!('success' in message)) {
      this.log.debug('ignored an unknown message from the app', { ...this.logFields(), method: typeof message.method === 'string' ? message.method.slice(0, 100) : typeof message.method });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const gone = new HostError('client-disconnected', `The app ${this.query.app} disconnected.`);
    for (const pending of this.legacyPending?.values() ?? []) pending.reject(gone);
    this.legacyPending = undefined;
    for (const reject of this.waiting ?? []) reject(gone);
    this.waiting = undefined;
    this.channel.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The app's fields on every record: the session shares its connector's logger rather than keeping a child. */
  private logFields(): LogFields {
    return { app: this.query.app, os: this.query.os, device: this.query.device, deviceId: this.query.deviceId };
  }

  private warn(message: string, fields?: LogFields): void {
    this.log.warn(message, { ...this.logFields(), ...fields });
  }

  private send(message: Record<string, unknown>): void {
    if (this.closed) return;
    this.channel.fireAndForget(JSON.stringify(message));
  }

  private legacyRequest(id: number, data: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      (this.legacyPending ??= new Map()).set(id, { resolve, reject });
      this.channel.fireAndForget(data);
    });
  }
}

/** A bounded, printable form of whatever an app put in a field, for logs. */
function summarize(value: unknown): string {
  if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') return (value as { message: string }).message.slice(0, 500);
  return typeof value === 'string' ? value.slice(0, 500) : typeof value;
}

function stringList(value: unknown, method: string): string[] {
  const list = (value as { plugins?: unknown } | undefined)?.plugins;
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) {
    throw new HostError('protocol-invalid', `The app answered ${method} without a "plugins" list of strings.`);
  }
  return list as string[];
}
