import { join } from 'node:path';
import { type Container, ContainerModule } from 'inversify';
import { type AppSession } from '../../src/core/app-session.js';
import { type Clock } from '../../src/core/clock.js';
import { ClientRegistry } from '../../src/core/client-registry.js';
import { type AppClient, ConnectionHandler, type PluginEvent } from '../../src/core/connection-handler.js';
import { type HostConfig } from '../../src/core/host-config.js';
import { createHostContainer } from '../../src/host/create-host-container.js';
import { HttpApiService } from '../../src/plugins/http-api/http-api-service.js';
import { RSocketTransportService } from '../../src/plugins/rsocket-transport/rsocket-transport-service.js';
import { WebSocketTransportService } from '../../src/plugins/websocket-transport/websocket-transport-service.js';
import { MemoryLogger, testConfig } from './fakes.js';

/** A handler that claims the given plugins (all by default) and records what it sees. */
export class RecordingHandler implements ConnectionHandler {
  readonly id = 'recording';
  readonly connected: AppClient[] = [];
  readonly disconnected: AppClient[] = [];
  readonly events: Array<{ client: string; event: PluginEvent }> = [];
  constructor(private readonly claimed?: string[]) {}
  claims(plugin: string): boolean {
    return this.claimed === undefined || this.claimed.includes(plugin);
  }
  onClientConnected(client: AppClient): void {
    this.connected.push(client);
  }
  onClientDisconnected(client: AppClient): void {
    this.disconnected.push(client);
  }
  onEvent(client: AppClient, event: PluginEvent): void {
    this.events.push({ client: client.id, event });
  }
}

export interface TestHost {
  container: Container;
  ports: { insecure: number; secure: number };
  /** The HTTP API's port, when the config enables it. */
  apiPort?: number;
  /** The WebSocket listeners' ports, when the config enables them. */
  wsPorts: { insecure?: number; secure?: number; browser?: number };
  registry: ClientRegistry;
  handler: RecordingHandler;
  logger: MemoryLogger;
  config: HostConfig;
  stop(): Promise<void>;
}

/** Enables the WebSocket transport on ephemeral ports (use as or inside the `change` argument). */
export function withWebSocket(config: HostConfig): void {
  config.plugins.transports = ['rsocket', 'websocket'];
  config.webSocket = { insecure: 0, secure: 0, browser: 0 };
}

/** Enables the HTTP API on an ephemeral port. */
export function withApi(config: HostConfig): void {
  config.plugins.services = ['http-api'];
  config.api = { port: 0 };
}

/** A real host on 127.0.0.1 with ephemeral ports, a recording handler, and a memory logger. */
export async function startTestHost(dir: string, change: (config: HostConfig) => void = () => undefined, extra: ContainerModule[] = [], clock?: Clock): Promise<TestHost> {
  const config = testConfig({ certDir: join(dir, 'host-certs') });
  config.plugins.transports = ['rsocket'];
  config.plugins.deviceTransports = ['desktop'];
  change(config);
  const handler = new RecordingHandler();
  const logger = new MemoryLogger();
  const { host, container } = await createHostContainer(config, {
    logger,
    clock,
    modules: [new ContainerModule(({ bind }) => void bind(ConnectionHandler).toConstantValue(handler)), ...extra],
  });
  await host.start();
  const ports = container.isBound(RSocketTransportService) ? container.get(RSocketTransportService).boundPorts! : { insecure: 0, secure: 0 };
  const wsPorts = container.isBound(WebSocketTransportService) ? container.get(WebSocketTransportService).boundPorts : {};
  const apiPort = container.isBound(HttpApiService) ? container.get(HttpApiService).boundPort : undefined;
  return { container, ports, wsPorts, apiPort, registry: container.get(ClientRegistry), handler, logger, config, stop: () => host.stop() };
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function onlyClient(registry: ClientRegistry): AppSession | undefined {
  const list = registry.list();
  return list.length === 1 ? list[0] : undefined;
}
