/**
 * Example connection handler, loaded by path from a config file: records connections and the events
 * of the plugins it claims as JSON lines in a file (`pluginOptions["event-recorder"]`: `file`, and
 * optionally `plugins`, the plugin ids to claim; all by default). Claiming a background plugin also
 * makes the host send it `init`, so its events start flowing.
 *
 * Outside this repository, import from 'sonarhost/plugin-api' instead of '../src/core/plugin-api.js'.
 */
import { appendFile } from 'node:fs/promises';
import { ContainerModule, inject, injectable } from 'inversify';
import { type AppClient, ConnectionHandler, HostConfig, Logger, type PluginDescriptor, type PluginEvent } from '../src/core/plugin-api.js';

const ID = 'event-recorder';

@injectable()
class EventRecorder implements ConnectionHandler {
  readonly id = ID;
  private readonly file: string;
  private readonly plugins: string[] | undefined;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    @inject(HostConfig) config: HostConfig,
    @inject(Logger) private readonly log: Logger,
  ) {
    const options = config.pluginOptions[ID] ?? {};
    this.file = typeof options.file === 'string' ? options.file : 'sonarhost-events.jsonl';
    this.plugins = Array.isArray(options.plugins) ? options.plugins.filter((p): p is string => typeof p === 'string') : undefined;
  }

  claims(plugin: string): boolean {
    return this.plugins === undefined || this.plugins.includes(plugin);
  }

  onClientConnected(client: AppClient): void {
    this.record({ type: 'connected', client: client.id, appId: client.appId, plugins: client.plugins() });
  }

  onClientDisconnected(client: AppClient): void {
    this.record({ type: 'disconnected', client: client.id });
  }

  onEvent(client: AppClient, event: PluginEvent): void {
    this.record({ type: 'event', client: client.id, ...event });
  }

  /** Appends in order, one line per record; a failed write is logged, never thrown at the host. */
  private record(entry: Record<string, unknown>): void {
    const line = JSON.stringify({ at: new Date().toISOString(), ...entry }) + '\n';
    this.writing = this.writing.then(() => appendFile(this.file, line)).catch((error: unknown) => this.log.warn('event recorder could not write', { file: this.file, error: String(error) }));
  }
}

const plugin: PluginDescriptor = {
  id: ID,
  kind: 'connection-handler',
  description: 'records connections and plugin events as JSON lines',
  module: new ContainerModule(({ bind }) => {
    bind(EventRecorder).toSelf().inSingletonScope();
    bind(ConnectionHandler).toService(EventRecorder);
  }),
  requires: [HostConfig],
};

export default plugin;
