import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ContainerModule } from 'inversify';
import { WebSocket } from 'ws';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { type SecureMaterial } from '../../src/client/state-folder.js';
import { type AppSession } from '../../src/core/app-session.js';
import { ClientRegistry } from '../../src/core/client-registry.js';
import { ConnectionGate } from '../../src/core/connection-gate.js';
import { ConnectionHandler } from '../../src/core/connection-handler.js';
import { type HostConfig } from '../../src/core/host-config.js';
import { type LogRecord, SinkLogger, jsonLineSink } from '../../src/core/logger.js';
import { createHostContainer } from '../../src/host/create-host-container.js';
import { HttpApiService } from '../../src/plugins/http-api/http-api-service.js';
import { RSocketTransportService } from '../../src/plugins/rsocket-transport/rsocket-transport-service.js';
import { WebSocketTransportService } from '../../src/plugins/websocket-transport/websocket-transport-service.js';
import { demoPlugin } from './demo-plugin.js';
import { testConfig } from './fakes.js';
import { type CrashWatch, within, until } from './fuzz-harness.js';
import { SETUP, rawExchange, rawSecureAttempt } from './raw-rsocket.js';
import { makeTempDir } from './temp-dir.js';
import { RecordingHandler } from './test-host.js';

/** How long a connection may stay unauthenticated on the fuzz host (the default is 60 s). */
export const FUZZ_UNAUTHENTICATED_LIFETIME_MS = 2_000;

/**
 * A logger as production has it: every record goes through the JSON-lines sink (so a field that
 * cannot be serialised fails here as it would in `sonarhost start`), at debug level so every log
 * call is exercised. Only the last records are kept, for failure messages.
 */
export class SerializingLogger extends SinkLogger {
  readonly recent: LogRecord[] = [];
  constructor() {
    const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const serialize = jsonLineSink(discard);
    const recent: LogRecord[] = [];
    super((record) => {
      recent.push(record);
      if (recent.length > 50) recent.shift();
      serialize(record);
    }, 'debug');
    this.recent = recent;
  }
}

export type BystanderTransport = 'rsocket' | 'websocket';

export interface Bystander {
  transport: BystanderTransport;
  client: FlipperClient;
  /** The session registered when the fuzzing started: it must be the same one, open, at every check. */
  session: AppSession;
}

export interface FuzzHost {
  dir: string;
  config: HostConfig;
  ports: { insecure: number; secure: number };
  wsPorts: { insecure?: number; secure?: number; browser?: number };
  /** The HTTP API's port, when the config enables it (see `withApi`). */
  apiPort?: number;
  registry: ClientRegistry;
  gate: ConnectionGate;
  logger: SerializingLogger;
  bystanders: Bystander[];
  /** TLS material of another app (`com.example.fuzzer`), obtained by a real exchange with the client SDK. */
  fuzzer: SecureMaterial & { stateDir: string };
  /** Every bystander is still the session it was, open, and answers a round trip. */
  checkBystanders(what: string): Promise<void>;
  /** A new app can still reach each port and be answered (nothing is saturated or wedged). */
  checkNewcomers(what: string): Promise<void>;
  /** Only the bystanders are registered (every fuzz connection was cleaned up). */
  checkOnlyBystanders(what: string): Promise<void>;
  stop(): Promise<void>;
}

export interface FuzzHostOptions {
  bystanders?: BystanderTransport[];
  /** Changes to the config after the fuzz defaults. */
  change?: (config: HostConfig) => void;
}

/**
 * A real host on 127.0.0.1 with every listener on an ephemeral port (RSocket 2, WebSocket 3), the
 * desktop device transport, a short unauthenticated lifetime (so silent peers are closed within
 * the test), and admission and exchange-rate limits raised so thousands of fuzz connections from one
 * address are not refused before they reach the code under test (the limits themselves are fuzzed
 * with the defaults in a test of their own). Bystander apps are connected before it returns.
 */
export async function startFuzzHost(options: FuzzHostOptions = {}): Promise<FuzzHost> {
  const { path: dir, cleanup } = await makeTempDir('sonarhost-fuzz-');
  const config = testConfig({ certDir: join(dir, 'host-certs') });
  config.plugins.transports = ['rsocket', 'websocket'];
  config.plugins.deviceTransports = ['desktop'];
  config.webSocket = { insecure: 0, secure: 0, browser: 0 };
  config.limits = {
    ...config.limits,
    unauthenticatedLifetimeMs: FUZZ_UNAUTHENTICATED_LIFETIME_MS,
    maxUnauthenticatedConnections: 1_000_000,
    maxUnauthenticatedPerSource: 1_000_000,
    exchangesPerMinutePerSource: 1_000_000,
  };
  options.change?.(config);
  const logger = new SerializingLogger();
  const handler = new RecordingHandler();
  let gate: ConnectionGate | undefined;
  const { host, container } = await createHostContainer(config, {
    logger,
    modules: [
      new ContainerModule(({ bind, onActivation }) => {
        bind(ConnectionHandler).toConstantValue(handler);
        onActivation(ConnectionGate, (_context, instance) => (gate = instance));
      }),
    ],
  });
  await host.start();
  const ports = container.get(RSocketTransportService).boundPorts!;
  const wsPorts = container.get(WebSocketTransportService).boundPorts;
  const apiPort = container.isBound(HttpApiService) ? container.get(HttpApiService).boundPort : undefined;
  const registry = container.get(ClientRegistry);
  const clients: FlipperClient[] = [];
  const stop = async () => {
    for (const client of clients) await client.stop();
    await host.stop();
    await cleanup();
  };

  try {
    const clientFor = (transport: BystanderTransport, appId: string, appName: string, device: string) => {
      const client = new FlipperClient({
        appId, appName, os: 'Linux', device, stateDir: join(dir, device, 'sonar'), host: '127.0.0.1', transport,
        ports: transport === 'websocket' ? { insecure: wsPorts.insecure!, secure: wsPorts.secure! } : ports,
        plugins: [demoPlugin()], reconnectMs: 50,
      });
      clients.push(client);
      return client;
    };
    const sessionOf = (device: string) => registry.list().find((s) => s.query.device === device);

    // The fuzzer's own certificate: a real exchange and secure connection, then the client stops.
    const fuzzerClient = clientFor('rsocket', 'com.example.fuzzer', 'Fuzzer', 'fuzzer');
    fuzzerClient.start();
    await until(() => sessionOf('fuzzer'), 20_000, 'the fuzzer app to connect once');
    await fuzzerClient.stop();
    await until(() => !sessionOf('fuzzer'), 5_000, 'the fuzzer app to disconnect');
    const fuzzer = { ...(await fuzzerClient.state.readSecureMaterial()), stateDir: fuzzerClient.state.path };

    const bystanders: Bystander[] = [];
    for (const transport of options.bystanders ?? ['rsocket']) {
      const device = `bystander-${transport}`;
      const client = clientFor(transport, 'com.example.bystander', 'Bystander', device);
      client.start();
      const session = await until(() => sessionOf(device), 20_000, `the ${transport} bystander to connect`);
      bystanders.push({ transport, client, session });
    }

    const fuzzHost: FuzzHost = {
      dir, config, ports, wsPorts, apiPort, registry, gate: gate!, logger, bystanders, fuzzer, stop,
      async checkBystanders(what) {
        for (const bystander of bystanders) {
          const current = registry.get(bystander.session.id);
          const replacedBy = current === undefined ? 'nobody' : `a session of ${current.appId} connected at ${current.connectedAt.toISOString()}`;
          assert.ok(current === bystander.session, `${what}: the ${bystander.transport} bystander was replaced or dropped (its client id is now held by ${replacedBy})`);
          assert.equal(bystander.session.isClosed, false, `${what}: the ${bystander.transport} bystander's session was closed`);
          const payload = { what, at: Date.now(), text: 'ünïcødé ✓' };
          assert.deepEqual(await within(bystander.session.call('demo', 'echo', payload), 5_000, `${what}: echo from the ${bystander.transport} bystander`), payload);
        }
      },
      async checkNewcomers(what) {
        await assert.rejects(within(rawExchange(ports.insecure, SETUP({ app: 'Newcomer' }), JSON.stringify({ method: 'hello' })), 5_000, `${what}: RSocket exchange port`), /Unknown method "hello"/);
        const secure = await rawSecureAttempt(ports.secure, fuzzer, SETUP({ app: 'Newcomer', device: 'newcomer', csr: fuzzer.csr, csr_path: fuzzer.stateDir }), 5_000);
        assert.equal(secure.accepted, true, `${what}: RSocket secure port refused a valid app: ${JSON.stringify(secure)}`);
        if (wsPorts.insecure !== undefined) {
          const socket = new WebSocket(`ws://127.0.0.1:${wsPorts.insecure}/?os=Linux&device=newcomer&app=Newcomer&device_id=unknown&medium=1`);
          socket.on('error', () => undefined);
          try {
            await within(once(socket, 'open'), 5_000, `${what}: WebSocket exchange port`);
            const answer = once(socket, 'message');
            socket.send(JSON.stringify({ method: 'signCertificate', csr: 'not a csr', destination: '/nowhere/' }));
            const [data] = (await within(answer, 5_000, `${what}: WebSocket exchange answer`)) as [Buffer];
            assert.equal(data.toString(), '{}');
          } finally {
            socket.terminate();
          }
        }
        await until(() => !registry.list().some((s) => s.query.device === 'newcomer'), 5_000, `${what}: the newcomer to be unregistered`);
      },
      async checkOnlyBystanders(what) {
        const expected = bystanders.map((b) => b.session.id).sort();
        await until(() => {
          const ids = registry.list().map((s) => s.id).sort();
          return JSON.stringify(ids) === JSON.stringify(expected);
        }, 5_000, `${what}: only the bystanders to stay registered (registered: ${registry.list().map((s) => s.id).join(', ')})`);
      },
    };
    return fuzzHost;
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The end of a fuzz file: the bystanders are still served, `moreChecks` hold and no crash was seen;
 * the host and the watch are stopped even when a check fails, so a failure never hangs the file.
 */
export async function finishFuzzHost(host: FuzzHost, watch: CrashWatch, moreChecks?: () => Promise<void>): Promise<void> {
  try {
    await host.checkBystanders('at the end');
    await moreChecks?.();
    watch.assertClean('at the end');
  } finally {
    await host.stop();
    watch.dispose();
  }
}
