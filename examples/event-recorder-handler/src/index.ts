/**
 * A connection handler that records connections and the events of the plugins it claims as JSON
 * lines (`pluginOptions["event-recorder"]`: `file`, relative to the config file's folder, and
 * optionally `plugins`, the plugin ids to claim; all by default). Claiming a background plugin also
 * makes the host send it `init`, so its events start flowing.
 */
import { appendFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type AppClient,
  ConnectionHandler,
  ContainerModule,
  HostConfig,
  Logger,
  type PluginEvent,
  definePlugin,
  inject,
  injectable,
} from 'sonarhost/plugin-api';

const ID = 'event-recorder';
const DEFAULT_FILE = 'sonarhost-events.jsonl';

@injectable()
export class EventRecorder implements ConnectionHandler {
  readonly id = ID;
  /** Where the records go: next to the config file (or in the working folder when there is none). */
  readonly file: string;
  private readonly plugins: string[] | undefined;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    @inject(HostConfig) config: HostConfig,
    @inject(Logger) private readonly log: Logger,
  ) {
    const options = config.pluginOptions[ID] ?? {};
    this.file = resolve(config.configDir ?? process.cwd(), typeof options.file === 'string' ? options.file : DEFAULT_FILE);
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

export default definePlugin({
  id: ID,
  kind: 'connection-handler',
  description: 'records connections and plugin events as JSON lines',
  module: new ContainerModule(({ bind }) => {
    bind(EventRecorder).toSelf().inSingletonScope();
    bind(ConnectionHandler).toService(EventRecorder);
  }),
  requires: [HostConfig, Logger],
});
