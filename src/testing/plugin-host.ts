import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Container } from 'inversify';
import { FlipperClient } from '../client/flipper-client.js';
import { type ClientPlugin } from '../client/client-plugin.js';
import { type HostConfig, type PluginSelection } from '../core/host-config.js';
import { HostError } from '../core/host-error.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { type PluginDescriptor, apiVersionProblem } from '../core/plugin-descriptor.js';
import { defaultConfig } from '../host/config-sources.js';
import { BUILTIN_PLUGINS } from '../host/builtin-plugins.js';
import { createHostContainer } from '../host/create-host-container.js';

export interface PluginHostOptions {
  /** The author's plugin (its descriptor, as the package exports it). */
  plugin: PluginDescriptor;
  /** `pluginOptions` of the host config (the author's plugin reads its own entry). */
  pluginOptions?: HostConfig['pluginOptions'];
  /** Where the certificate authority lives; a fresh temporary folder (removed by stop) by default. */
  certDir?: string;
  logger?: Logger;
  /** The config file's folder as the plugin sees it (`HostConfig.configDir`), for relative paths in its options. */
  configDir?: string;
}

export interface AppOptions {
  appId?: string;
  appName?: string;
  os?: string;
  device?: string;
  /** The app's certificate folder on this machine: the client SDK keeps app.csr, keys and certificates there. */
  stateDir: string;
  /** The same folder as the app names it in the exchange, when the transport maps it (default stateDir). */
  reportedStateDir?: string;
  plugins?: ClientPlugin[];
  /** How long to wait for the exchange and the secure connection (default 30 s). */
  timeoutMs?: number;
  /** Which SDK era the app speaks: `rsocket` (the default) or `websocket`; the host serves both. */
  transport?: 'rsocket' | 'websocket';
}

export interface ConnectedApp {
  /** What the host answered to the exchange: the device id the transport found. */
  deviceId: string;
  client: FlipperClient;
  stop(): Promise<void>;
}

export interface PluginHost {
  config: HostConfig;
  /** The WebSocket era's ports (the RSocket ones are `config.ports`). */
  webSocketPorts: { insecure: number; secure: number };
  container: Container;
  /** Runs the project's client SDK as an app: certificate exchange, then the secure connection. */
  connectApp(options: AppOptions): Promise<ConnectedApp>;
  stop(): Promise<void>;
}

/**
 * Starts a real host in this process, on free loopback ports, with the author's plugin in its slot
 * (a device transport goes before `desktop`, so it is asked first), serving both SDK eras. Used in a plugin's own tests:
 * `const host = await startPluginHost({ plugin }); const app = await host.connectApp({...});`.
 */
export async function startPluginHost(options: PluginHostOptions): Promise<PluginHost> {
  const versionProblem = apiVersionProblem(options.plugin.apiVersion);
  if (versionProblem) throw new HostError('plugin-invalid', `plugin "${options.plugin.id}": ${versionProblem}.`);
  const ownCertDir = options.certDir === undefined ? await mkdtemp(join(tmpdir(), 'sonarhost-plugin-host-')) : undefined;
  const [insecure, secure, wsInsecure, wsSecure] = await freeLoopbackPorts(4);
  const config: HostConfig = {
    ...defaultConfig(),
    host: ['127.0.0.1'],
    ports: { insecure: insecure!, secure: secure! },
    webSocket: { insecure: wsInsecure!, secure: wsSecure!, browser: false },
    api: { port: false },
    flipperServer: { port: false },
    certDir: options.certDir ?? join(ownCertDir!, 'certs'),
    plugins: selectionWith(options.plugin),
    pluginOptions: options.pluginOptions ?? {},
  };
  const { container, host } = await createHostContainer(config, { catalog: [...BUILTIN_PLUGINS, options.plugin], logger: options.logger ?? silentLogger, configDir: options.configDir });
  await host.start();
  const apps = new Set<FlipperClient>();
  const webSocketPorts = { insecure: wsInsecure!, secure: wsSecure! };
  return {
    config,
    webSocketPorts,
    container,
    connectApp: async (app) => {
      const transport = app.transport ?? 'rsocket';
      const client = new FlipperClient({
        appId: app.appId ?? 'com.example.plugintest',
        appName: app.appName ?? 'Plugin Test',
        os: app.os ?? 'Linux',
        device: app.device ?? 'test machine',
        stateDir: app.stateDir,
        reportedStateDir: app.reportedStateDir,
        host: '127.0.0.1',
        transport,
        ports: transport === 'websocket' ? webSocketPorts : config.ports,
        plugins: app.plugins ?? [],
        reconnectMs: 100,
      });
      apps.add(client);
      const problems: string[] = [];
      client.on('problem', (message: string) => problems.push(message));
      const exchanged = once(client, 'exchanged') as Promise<[{ deviceId: string }]>;
      const connected = once(client, 'connected');
      client.start();
      const timeoutMs = app.timeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the app did not complete the exchange and secure connection within ${timeoutMs} ms; what it saw: ${problems.join(' | ') || 'nothing'}`)), timeoutMs);
      });
      try {
        const [{ deviceId }] = await Promise.race([exchanged, timeout]);
        await Promise.race([connected, timeout]);
        return { deviceId, client, stop: () => client.stop() };
      } catch (error) {
        await client.stop();
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    stop: async () => {
      await Promise.all([...apps].map((c) => c.stop()));
      await host.stop();
      if (ownCertDir) await rm(ownCertDir, { recursive: true, force: true });
    },
  };
}

/** The smallest host that exercises the plugin: both SDK eras, the desktop transport, and the plugin's slot. */
function selectionWith(plugin: PluginDescriptor): PluginSelection {
  const selection: PluginSelection = { certificateStore: 'file-certificate-store', exchange: 'default-exchange', transports: ['rsocket', 'websocket'], deviceTransports: ['desktop'], connectionHandlers: [], services: [] };
  switch (plugin.kind) {
    case 'certificate-store':
      return { ...selection, certificateStore: plugin.id };
    case 'exchange':
      return { ...selection, exchange: plugin.id };
    case 'transport':
      return { ...selection, transports: [...selection.transports, plugin.id] };
    case 'device-transport':
      return { ...selection, deviceTransports: [plugin.id, ...selection.deviceTransports] };
    case 'connection-handler':
      return { ...selection, connectionHandlers: [plugin.id] };
    case 'service':
      return { ...selection, services: [plugin.id] };
  }
}

/** Distinct free ports on 127.0.0.1 (held together so they differ, then released for the host). */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
