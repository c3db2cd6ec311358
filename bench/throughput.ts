import * as http from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainerModule } from 'inversify';
import { HostApiClient } from '../src/cli/host-api-client.js';
import { type AppSession } from '../src/core/app-session.js';
import { type AppClient, ConnectionHandler, type PluginEvent } from '../src/core/connection-handler.js';
import { type TestHost, startTestHost, withWebSocket } from '../test/helpers/test-host.js';
import { type FlipperServerChild, flipperLogBytes, startFlipperServerChild } from './flipper-server-process.js';
import { FlipperUi } from './flipper-ui.js';
import { sleep, waitUntil, withTimeout } from './processes.js';
import { type RawEchoPair, startRawEchoPair } from './raw-echo-pair.js';
import { type AppIdentity, type BenchApp, connectRawApp, makeIdentity, prepareFolder, readMaterial, timedExchange } from './raw-app.js';
import { startRawWsPair } from './raw-ws-pair.js';
import { connectWsApp } from './ws-app.js';
import { type SonarhostChild, startSonarhostChild } from './sonarhost-process.js';
import { hrMs, median } from './stats.js';

export type Mode = 'serial' | 'inflight100' | 'events';
export const MODES: Mode[] = ['serial', 'inflight100', 'events'];

/** One way of driving a host: host→app calls and app→host events. */
interface Driver {
  name: DriverName;
  /** Operations per measurement, by mode (smaller for slow or log-bound hosts). */
  sizes: Record<Mode, number>;
  call(n: number): Promise<void>;
  sendEvent(n: number): void;
  eventsReceived(): number;
  /** Called before each measurement; may restart the host (flipper-server's log budget). */
  prepare?(mode: Mode, ops: number): Promise<void>;
  stop(): Promise<void>;
}

export type DriverName = 'sonarhost' | 'sonarhostHttp' | 'sonarhostApiWs' | 'sonarhostFlipperUi' | 'raw' | 'rawTls' | 'flipper' | 'sonarhostWs' | 'rawWs' | 'rawWss' | 'flipperWs';

export interface ThroughputResult {
  rounds: number;
  /** Median over rounds, operations per second; undefined when not measured. */
  rates: Record<DriverName, Partial<Record<Mode, number>>>;
  samples: Record<DriverName, Partial<Record<Mode, number[]>>>;
  skipped: Partial<Record<DriverName, string>>;
  errors: string[];
}

const IN_FLIGHT = 100;
const MEASURE_MAX_MS = 3000;

/**
 * Row 4: host→app request-response (one at a time, and 100 in flight) and app→host events, each as
 * operations per second, medians over interleaved rounds. sonarhost in-process (AppSession.call, events
 * counted by a ConnectionHandler), the raw rsocket-js pair (TCP, and TLS as on the secure port),
 * flipper-server through its UI WebSocket (client-request-response; events as client-message), and
 * sonarhost's tools' API with the host in a child process: HTTP (POST /api/clients/{id}/call; events
 * from the /api/events stream) and the multiplexed WebSocket (`call` messages on one /api/ws connection
 * through HostApiClient; events from a `subscribe` on the same connection).
 */
export async function measureThroughput(dir: string, options: { rounds: number; deadline: number; flipperReason?: string; only?: (name: DriverName) => boolean }): Promise<ThroughputResult> {
  const identity = await makeIdentity('com.example.bench', 'Bench');
  const errors: string[] = [];
  const skipped: ThroughputResult['skipped'] = {};
  const drivers: Driver[] = [];
  const starters: Array<[DriverName, () => Promise<Driver>]> = [
    ['sonarhost', () => inProcessSonarhost(join(dir, 'inproc'), identity)],
    ['raw', () => rawDriver('raw')],
    ['rawTls', () => rawDriver('rawTls', join(dir, 'raw-tls'), identity)],
    ['sonarhostHttp', () => httpSonarhost(join(dir, 'http'), identity)],
    ['sonarhostApiWs', () => wsApiSonarhost(join(dir, 'api-ws'), identity)],
    ['sonarhostFlipperUi', () => flipperUiSonarhost(join(dir, 'flipper-ui'), identity)],
    ['sonarhostWs', () => inProcessSonarhost(join(dir, 'inproc-ws'), identity, true)],
    ['rawWs', () => rawWsDriver('rawWs', identity)],
    ['rawWss', () => rawWsDriver('rawWss', identity, join(dir, 'raw-wss'))],
  ];
  if (options.flipperReason) skipped.flipper = skipped.flipperWs = options.flipperReason;
  else starters.push(['flipper', () => flipperDriver(join(dir, 'flipper'), identity, false)], ['flipperWs', () => flipperDriver(join(dir, 'flipper-ws'), identity, true)]);
  const chosen = starters.filter(([name]) => options.only?.(name) ?? true);
  starters.length = 0;
  starters.push(...chosen);
  const rates = {} as ThroughputResult['rates'];
  const samples = {} as ThroughputResult['samples'];
  try {
    for (const [name, start] of starters) {
      rates[name] = {};
      samples[name] = {};
      try {
        drivers.push(await start());
      } catch (error) {
        skipped[name] = (error as Error).message.split('\n')[0];
      }
    }
    for (let round = 0; round < options.rounds && (round === 0 || Date.now() < options.deadline); round++) {
      // Rotate the modes too, so a run cut short by its time budget still has every mode.
      for (const mode of MODES.map((_, i) => MODES[(i + round) % MODES.length]!)) {
        // Rotate the order each round so no host always runs first (or last) on a warm machine.
        const order = drivers.map((_, i) => drivers[(i + round) % drivers.length]!);
        for (const driver of order) {
          if (round > 0 && Date.now() > options.deadline) break; // the first round always measures every mode
          try {
            const ops = driver.sizes[mode];
            await driver.prepare?.(mode, ops);
            const measured = mode === 'events' ? eventRate(driver, ops) : callRate(driver, ops, mode === 'serial' ? 1 : IN_FLIGHT);
            const rate = await withTimeout(measured, MEASURE_MAX_MS * 4, `${driver.name} ${mode}`);
            (samples[driver.name][mode] ??= []).push(rate);
          } catch (error) {
            if (errors.length < 8) errors.push(`${driver.name} ${mode}: ${(error as Error).message.split('\n')[0]}`);
          }
        }
      }
    }
  } finally {
    for (const driver of drivers) await driver.stop().catch(() => undefined);
  }
  for (const name of Object.keys(samples) as DriverName[]) for (const mode of MODES) if (samples[name][mode]?.length) rates[name][mode] = median(samples[name][mode]!);
  return { rounds: options.rounds, rates, samples, skipped, errors };
}

async function callRate(driver: Driver, total: number, inFlight: number): Promise<number> {
  let issued = 0;
  let done = 0;
  const started = hrMs();
  const stopAt = Date.now() + MEASURE_MAX_MS;
  const worker = async () => {
    while (issued < total && Date.now() < stopAt) {
      await driver.call(issued++);
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (done / (hrMs() - started)) * 1000;
}

async function eventRate(driver: Driver, total: number): Promise<number> {
  const before = driver.eventsReceived();
  const started = hrMs();
  // Sent in slices so the app's side yields to the event loop, as an app sending events would.
  for (let sent = 0; sent < total; ) {
    for (const end = Math.min(total, sent + 500); sent < end; sent++) driver.sendEvent(sent);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const stopAt = Date.now() + MEASURE_MAX_MS * 2;
  while (driver.eventsReceived() - before < total && Date.now() < stopAt) await new Promise((resolve) => setTimeout(resolve, 1));
  const received = driver.eventsReceived() - before;
  if (received < total) throw new Error(`only ${received} of ${total} events arrived within ${MEASURE_MAX_MS * 2} ms`);
  return (received / (hrMs() - started)) * 1000;
}

/** Exchange on `insecurePort`, then a raw app on `securePort` answering the host's calls. */
async function connectApp(folderPath: string, identity: AppIdentity, ports: { insecure: number; secure: number }, device = 'throughput', wsSecure?: number): Promise<BenchApp> {
  const folder = await prepareFolder(folderPath, identity);
  await timedExchange(ports.insecure, identity, { os: 'MacOS', device: 'bench-mac', folder });
  const material = await readMaterial(folder, identity);
  const app = wsSecure === undefined ? await connectRawApp(ports.secure, material, identity, device, folder) : await connectWsApp(wsSecure, material, identity, device, folder);
  await app.pluginsAnswered;
  return app;
}

class CountingHandler implements ConnectionHandler {
  readonly id = 'bench-counter';
  count = 0;
  claims(): boolean {
    return true;
  }
  onEvent(_client: AppClient, _event: PluginEvent): void {
    this.count++;
  }
}

async function inProcessSonarhost(dir: string, identity: AppIdentity, webSocket = false): Promise<Driver> {
  const counter = new CountingHandler();
  const host: TestHost = await startTestHost(
    dir,
    (config) => {
      config.logLevel = 'info';
      if (webSocket) withWebSocket(config);
    },
    [new ContainerModule(({ bind }) => void bind(ConnectionHandler).toConstantValue(counter))],
  );
  let app: BenchApp | undefined;
  try {
    app = await connectApp(join(dir, 'app', 'sonar'), identity, host.ports, 'throughput', webSocket ? host.wsPorts.secure : undefined);
    let session: AppSession | undefined;
    await waitUntil(() => (session = host.registry.list()[0]) !== undefined, 'the in-process host to register the app', 10_000);
    const registered = session!;
    host.handler.events.length = 0;
    const connected = app;
    return {
      name: webSocket ? 'sonarhostWs' : 'sonarhost',
      sizes: { serial: 5000, inflight100: 40_000, events: 40_000 },
      call: async (n) => {
        await registered.call('echo', 'ping', { n });
      },
      sendEvent: (n) => connected.send('echo', 'tick', { n }),
      eventsReceived: () => counter.count,
      prepare: async () => {
        host.handler.events.length = 0; // the test helper's recording handler keeps every event
      },
      stop: async () => {
        connected.close();
        await host.stop();
      },
    };
  } catch (error) {
    app?.close();
    await host.stop();
    throw error;
  }
}

async function rawDriver(name: 'raw' | 'rawTls', dir?: string, identity?: AppIdentity): Promise<Driver> {
  let pair: RawEchoPair;
  if (name === 'rawTls') {
    // Real certificates for both ends: a sonarhost CA's server credentials and an issued client certificate.
    const host = await startTestHost(dir!);
    try {
      const folder = await prepareFolder(join(dir!, 'app', 'sonar'), identity!);
      await timedExchange(host.ports.insecure, identity!, { os: 'MacOS', device: 'bench-mac', folder });
      const client = await readMaterial(folder, identity!);
      const certDir = host.config.certDir;
      const server = { key: await readFile(join(certDir, 'server.key'), 'utf8'), cert: await readFile(join(certDir, 'server.crt'), 'utf8'), ca: client.ca };
      pair = await startRawEchoPair({ server, client });
    } finally {
      await host.stop();
    }
  } else {
    pair = await startRawEchoPair();
  }
  return {
    name,
    sizes: { serial: 5000, inflight100: 40_000, events: 40_000 },
    call: (n) => pair.call(n),
    sendEvent: (n) => pair.sendEvent(n),
    eventsReceived: () => pair.eventsReceived,
    stop: () => pair.stop(),
  };
}

/** The WebSocket ceiling (bench/raw-ws-pair.ts): plain, or over TLS with sonarhost-issued certificates. */
async function rawWsDriver(name: 'rawWs' | 'rawWss', identity: AppIdentity, dir?: string): Promise<Driver> {
  let pair: RawEchoPair;
  if (name === 'rawWss') {
    const host = await startTestHost(dir!);
    try {
      const folder = await prepareFolder(join(dir!, 'app', 'sonar'), identity);
      await timedExchange(host.ports.insecure, identity, { os: 'MacOS', device: 'bench-mac', folder });
      const client = await readMaterial(folder, identity);
      const certDir = host.config.certDir;
      const server = { key: await readFile(join(certDir, 'server.key'), 'utf8'), cert: await readFile(join(certDir, 'server.crt'), 'utf8'), ca: client.ca };
      pair = await startRawWsPair(identity, { server, client });
    } finally {
      await host.stop();
    }
  } else {
    pair = await startRawWsPair(identity);
  }
  return {
    name,
    sizes: { serial: 5000, inflight100: 40_000, events: 40_000 },
    call: (n) => pair.call(n),
    sendEvent: (n) => pair.sendEvent(n),
    eventsReceived: () => pair.eventsReceived,
    stop: () => pair.stop(),
  };
}

async function httpSonarhost(dir: string, identity: AppIdentity): Promise<Driver> {
  const certDir = join(dir, 'certs');
  const host: SonarhostChild = await startSonarhostChild(dir, { certDir, api: true, profile: 'throughput-http-sonarhost' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  let app: BenchApp | undefined;
  let stream: http.ClientRequest | undefined;
  try {
    app = await connectApp(join(dir, 'app', 'sonar'), identity, host.ports);
    const token = (await readFile(join(certDir, 'api.token'), 'utf8')).trim();
    const clientId = `${identity.appName}#MacOS#throughput#`;
    const port = host.apiPort!;
    const post = (body: string) =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port, method: 'POST', path: `/api/clients/${encodeURIComponent(clientId)}/call`, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 200)}`));
              else {
                JSON.parse(Buffer.concat(chunks).toString());
                resolve();
              }
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    // Events: the server-sent event stream, counting plugin-event records.
    let events = 0;
    let tail = '';
    await new Promise<void>((resolve, reject) => {
      stream = http.get({ host: '127.0.0.1', port, path: `/api/events?token=${token}` }, (res) => {
        res.on('data', (chunk: Buffer) => {
          const text = tail + chunk.toString();
          const parts = text.split('event: plugin-event\n');
          events += parts.length - 1;
          tail = parts[parts.length - 1]!.slice(-24);
        });
        resolve();
      });
      stream.on('error', reject);
    });
    await post(JSON.stringify({ method: 'getPlugins' }));
    const connected = app;
    return {
      name: 'sonarhostHttp',
      sizes: { serial: 2000, inflight100: 8000, events: 10_000 },
      call: (n) => post(JSON.stringify({ method: 'execute', params: { api: 'echo', method: 'ping', params: { n } } })),
      sendEvent: (n) => connected.send('echo', 'tick', { n }),
      eventsReceived: () => events,
      stop: async () => {
        stream?.destroy();
        connected.close();
        agent.destroy();
        await host.stop();
      },
    };
  } catch (error) {
    stream?.destroy();
    app?.close();
    agent.destroy();
    await host.stop();
    throw error;
  }
}

/**
 * The tools' WebSocket API (`/api/ws`) of a sonarhost child, driven by the CLI's own client: every call
 * goes on the one connection (the 100-in-flight mode multiplexes them), answers matched by id.
 */
async function wsApiSonarhost(dir: string, identity: AppIdentity): Promise<Driver> {
  const certDir = join(dir, 'certs');
  const host: SonarhostChild = await startSonarhostChild(dir, { certDir, api: true, profile: 'throughput-ws-api-sonarhost' });
  let app: BenchApp | undefined;
  let api: HostApiClient | undefined;
  try {
    app = await connectApp(join(dir, 'app', 'sonar'), identity, host.ports);
    const token = (await readFile(join(certDir, 'api.token'), 'utf8')).trim();
    const clientId = `${identity.appName}#MacOS#throughput#`;
    const client = (api = await HostApiClient.connect(`ws://127.0.0.1:${host.apiPort!}/api/ws`, token));
    let events = 0;
    await client.subscribe({ client: clientId, events: ['plugin-event'] }, () => void events++);
    await client.call(clientId, 'getPlugins');
    const connected = app;
    return {
      name: 'sonarhostApiWs',
      sizes: { serial: 2000, inflight100: 20_000, events: 10_000 },
      call: async (n) => {
        await client.call(clientId, 'execute', { api: 'echo', method: 'ping', params: { n } });
      },
      sendEvent: (n) => connected.send('echo', 'tick', { n }),
      eventsReceived: () => events,
      stop: async () => {
        client.close();
        connected.close();
        await host.stop();
      },
    };
  } catch (error) {
    api?.close();
    app?.close();
    await host.stop();
    throw error;
  }
}

/**
 * sonarhost's flipper-server-compatible endpoint, driven exactly as the flipper-server driver below
 * drives flipper-server (same FlipperUi client, same client-request-response messages): the same
 * protocol on both sides, the fairest comparison of the tools' path (issue 20's bench row).
 */
async function flipperUiSonarhost(dir: string, identity: AppIdentity): Promise<Driver> {
  const certDir = join(dir, 'certs');
  const host: SonarhostChild = await startSonarhostChild(dir, { certDir, flipperServer: true, profile: 'throughput-flipper-ui-sonarhost' });
  let app: BenchApp | undefined;
  let ui: FlipperUi | undefined;
  try {
    app = await connectApp(join(dir, 'app', 'sonar'), identity, host.ports);
    const token = (await readFile(join(certDir, 'api.token'), 'utf8')).trim();
    const clientId = `${identity.appName}#MacOS#throughput#`;
    const client = (ui = await FlipperUi.connect(host.flipperPort!, token));
    let messages = 0;
    client.onServerEvent((event) => {
      if (event === 'client-message') messages++;
    });
    await waitUntil(async () => ((await client.exec('client-list', [])) as Array<{ id: string }>).some((c) => c.id === clientId), 'sonarhost to list the client', 10_000, 20);
    let nextRequestId = 0;
    const connected = app;
    return {
      name: 'sonarhostFlipperUi',
      sizes: { serial: 2000, inflight100: 20_000, events: 10_000 },
      call: async (n) => {
        const message = { id: nextRequestId++, method: 'execute', params: { api: 'echo', method: 'ping', params: { n } } };
        const answer = (await client.exec('client-request-response', [clientId, message])) as { success?: unknown; error?: unknown };
        if (answer?.success === undefined) throw new Error(`sonarhost answered ${JSON.stringify(answer).slice(0, 200)}`);
      },
      sendEvent: (n) => connected.send('echo', 'tick', { n }),
      eventsReceived: () => messages,
      stop: async () => {
        client.close();
        connected.close();
        await host.stop();
      },
    };
  } catch (error) {
    ui?.close();
    app?.close();
    await host.stop();
    throw error;
  }
}

/**
 * flipper-server through its UI WebSocket. Every exec writes a line to its log file, which it rotates
 * at 1 MiB (and died doing so here): the server is restarted (new HOME, new exchange, new connection)
 * whenever the next measurement could take the log past ~900 KB.
 */
async function flipperDriver(dir: string, identity: AppIdentity, webSocket: boolean): Promise<Driver> {
  let generation = 0;
  let server: FlipperServerChild | undefined;
  let ui: FlipperUi | undefined;
  let app: BenchApp | undefined;
  let clientId = '';
  let messages = 0;
  const bytesPerOp: Partial<Record<Mode, number>> = {};
  const stopCurrent = async () => {
    app?.close();
    ui?.close();
    await server?.stop();
    app = undefined;
    ui = undefined;
    server = undefined;
  };
  const start = async () => {
    generation++;
    server = await startFlipperServerChild(join(dir, `home-${generation}`));
    ui = await FlipperUi.connect(server.ports.ui);
    ui.onServerEvent((event) => {
      if (event === 'client-message') messages++;
    });
    const material = await exchangeWith(server, join(dir, `app-${generation}`, 'sonar'), identity);
    const folder = join(dir, `app-${generation}`, 'sonar') + '/';
    app = webSocket ? await connectWsApp(server.ports.wsSecure, material, identity, 'throughput', folder) : await connectRawApp(server.ports.secure, material, identity, 'throughput', folder);
    clientId = `${identity.appName}#MacOS#throughput#${webSocket ? 'bench' : ''}`;
    await waitUntil(async () => ((await ui!.exec('client-list', [])) as Array<{ id: string }>).some((c) => c.id === clientId), 'flipper-server to list the client', 10_000, 20);
  };
  await start();
  let logBefore = 0;
  let nextRequestId = 0;
  let lastMode: Mode | undefined;
  let lastOps = 0;
  return {
    name: webSocket ? 'flipperWs' : 'flipper',
    sizes: { serial: 800, inflight100: 1500, events: 3000 },
    call: async (n) => {
      // As its UI does: the caller numbers each request (over WebSocket flipper-server matches the reply by this id).
      const message = { id: nextRequestId++, method: 'execute', params: { api: 'echo', method: 'ping', params: { n } } };
      const answer = (await ui!.exec('client-request-response', [clientId, message])) as { success?: unknown; error?: unknown };
      if (answer?.success === undefined) throw new Error(`flipper-server answered ${JSON.stringify(answer).slice(0, 200)}`);
    },
    sendEvent: (n) => app!.send('echo', 'tick', { n }),
    eventsReceived: () => messages,
    prepare: async (mode, ops) => {
      const now = await flipperLogBytes();
      if (lastMode !== undefined && lastOps > 0) bytesPerOp[lastMode] = Math.max(0, now - logBefore) / lastOps;
      const expected = ops * (bytesPerOp[mode] ?? 400);
      if (!server!.alive() || now + expected > 900 * 1024) {
        await stopCurrent();
        await start();
        await sleep(200);
      }
      logBefore = await flipperLogBytes();
      lastMode = mode;
      lastOps = ops;
    },
    stop: stopCurrent,
  };
}

async function exchangeWith(server: FlipperServerChild, folderPath: string, identity: AppIdentity) {
  const folder = await prepareFolder(folderPath, identity);
  await timedExchange(server.ports.insecure, identity, { os: 'MacOS', device: 'bench-mac', folder });
  return readMaterial(folder, identity);
}
