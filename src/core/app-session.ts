import { type AppChannel, type ChannelRequest, startChannelRequest } from './app-channel.js';
import { type ClientQuery } from './client-query.js';
import { type AppClient, type PluginEvent } from './connection-handler.js';
import { HostError, describeError } from './host-error.js';
import { type LogFields, type Logger } from './logger.js';
import { parseJsonObject, unwrapResponse } from './protocol/json-message.js';

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
  private waiting: Set<(error: Error | undefined) => void> | undefined;
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
  request(method: string, params?: unknown, timeoutMs = this.timeoutMs, signal?: AbortSignal): Promise<unknown> {
    try {
      signal?.throwIfAborted();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closed) return Promise.reject(new HostError('client-disconnected', `The app ${this.query.app} is disconnected.`));
    if (this.pendingCount >= this.maxPending) {
      return Promise.reject(new HostError('too-many-pending', `${this.maxPending} requests to ${this.query.app} are already waiting for an answer; try again when it has caught up.`));
    }
    const id = this.nextId++;
    this.pendingCount++;
    const data = JSON.stringify(params === undefined ? { id, method } : { id, method, params });
    // One promise and one timer per request, settled by whichever comes first: the answer, the timeout,
    // the caller's signal or the app leaving. Promise races, an AbortController and their listeners per
    // request were about a fifth of the host's CPU on the tools' paths.
    return new Promise((resolve, reject) => {
      let done = false;
      let channelSettled = false;
      const finish = (error: Error | undefined, value?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiting?.delete(finish);
        if (this.waiting?.size === 0) this.waiting = undefined;
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        this.legacyPending?.delete(id);
        if (this.legacyPending?.size === 0) this.legacyPending = undefined;
        this.pendingCount--;
        // The channel forgets a request nobody waits for any more (only then: a HostError and its stack trace per answered call cost CPU).
        if (!channelSettled) sent?.cancel(new HostError('timeout', `The request ${method} to ${this.query.app} was given up.`));
        if (error) reject(error);
        else resolve(value);
      };
      const answered = (message: Record<string, unknown>) => {
        let response: unknown;
        try {
          response = unwrapResponse(message, method);
        } catch (error) {
          return finish(error as Error);
        }
        finish(undefined, response);
      };
      (this.waiting ??= new Set()).add(finish);
      const onAbort = signal ? () => finish(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason))) : undefined;
      if (onAbort) signal!.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => finish(new HostError('timeout', `The app's answer to ${method} did not finish within ${timeoutMs} ms`)), timeoutMs);
      // Assigned once the request is sent: a close during the send itself (the transport ending the connection) finds none to cancel.
      let sent: ChannelRequest | undefined = undefined;
      if (this.query.sdkVersion < 1) {
        // Legacy answers arrive as messages and settle the request at once, before a close in the same tick.
        (this.legacyPending ??= new Map()).set(id, { resolve: answered, reject: (error: Error) => finish(error) });
        this.channel.fireAndForget(data);
        return;
      }
      sent = startChannelRequest(this.channel, id, data);
      sent.answer.then(
        (text) => {
          channelSettled = true;
          let message: Record<string, unknown>;
          try {
            message = parseJsonObject(text, `The answer to ${method}`);
          } catch (error) {
            return finish(error as Error);
          }
          answered(message);
        },
        (error: unknown) => {
          channelSettled = true;
          finish(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
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
