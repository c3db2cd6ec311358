import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContainerModule } from 'inversify';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { ClientLookupError } from '../../src/core/client-directory.js';
import { type AppClient, ConnectionHandler } from '../../src/core/connection-handler.js';
import { HostError } from '../../src/core/host-error.js';
import { type HostEvent } from '../../src/core/host-events.js';
import { type LogRecord } from '../../src/core/logger.js';
import { definePlugin } from '../../src/core/plugin-descriptor.js';
import { AppResponseError } from '../../src/core/protocol/json-message.js';
import { type RunningHost, startHost } from '../../src/host/start-host.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { accepts } from '../helpers/free-ports.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

const quiet = { host: '127.0.0.1', ports: { insecure: 0, secure: 0 }, webSocket: { insecure: 0, secure: 0, browser: 0 }, api: { port: 0 }, flipperServer: { port: 0 } } as const;

describe('startHost (sonarhost/host)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: RunningHost;
  let app: FlipperClient;
  const seen: string[] = [];
  const records: LogRecord[] = [];
  const lazy = demoPlugin('lazy', false);

  // A connection handler passed as a descriptor object, beside a built-in one named by id.
  const watcher = definePlugin({
    id: 'test-watcher',
    kind: 'connection-handler',
    description: 'records the apps it sees',
    module: new ContainerModule(({ bind }) => {
      bind(ConnectionHandler).toConstantValue({ id: 'test-watcher', claims: (plugin: string) => plugin === 'demo', onClientConnected: (c: AppClient) => void seen.push(c.query.app) });
    }),
  });

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-start-host-'));
    host = await startHost({ ...quiet, certDir: join(dir, 'certs'), logLevel: 'debug', logSink: (r) => records.push(r), plugins: { deviceTransports: ['desktop'], connectionHandlers: [watcher, 'event-log'] } });
    app = new FlipperClient({ appId: 'com.example.lib', appName: 'Lib App', os: 'Linux', device: 'box', stateDir: join(dir, 'app'), host: '127.0.0.1', ports: host.ports.rsocket!, plugins: [demoPlugin(), lazy], reconnectMs: 100 });
  });
  after(async () => {
    await app.stop();
    await host.stop();
    await cleanup();
  });

  it('binds port 0 everywhere and reports the bound ports, the certificate folder and the plugins', async () => {
    const { rsocket, webSocket, api, byId } = host.ports;
    for (const port of [rsocket!.insecure, rsocket!.secure, webSocket.insecure!, webSocket.secure!, webSocket.browser!, api!]) {
      assert.ok(port > 0);
      assert.ok(await accepts(port), `port ${port} accepts connections`);
    }
    assert.deepEqual(Object.keys(byId).sort(), ['api', 'flipper-server', 'rsocket.insecure', 'rsocket.secure', 'websocket.browser', 'websocket.insecure', 'websocket.secure']);
    assert.equal(host.certDir, join(dir, 'certs'));
    assert.equal(host.certificates.location, join(dir, 'certs'));
    assert.ok(host.plugins.some((p) => p.id === 'test-watcher'));
    assert.ok(records.some((r) => r.name === 'sonarhost.api' && r.message === 'API and dashboard listening'), 'the log sink got the host\'s records');
  });

  it('sees an app connect (events, clients), calls it by app name, and inits a plugin on request', async () => {
    const events: HostEvent[] = [];
    const unsubscribe = host.events.subscribe({ client: 'Lib App' }, (e) => events.push(e));
    const connected = new Promise<HostEvent>((resolve) => {
      const stop = host.events.subscribe({ types: ['client-connected'] }, (e) => {
        stop();
        resolve(e);
      });
    });
    app.start();
    const event = await connected;
    assert.equal(event.type === 'client-connected' && event.client.app, 'Lib App');
    assert.deepEqual(seen, ['Lib App']);
    const [info] = host.clients();
    assert.equal(info!.appId, 'com.example.lib');
    assert.deepEqual(info!.plugins, ['demo', 'lazy']);

    await eventually(() => events.some((e) => e.type === 'plugin-event' && e.plugin === 'demo' && e.method === 'ready'), 'demo to be inited and say ready');
    assert.deepEqual(await host.call('Lib App', 'execute', { api: 'demo', method: 'echo', params: [1] }), [1]);
    assert.deepEqual(await host.call(info!.shortId, 'getPlugins'), { plugins: ['demo', 'lazy'] });
    await assert.rejects(host.call('Lib App', 'execute', { api: 'lazy', method: 'echo' }), (e: unknown) => e instanceof AppResponseError && (e.appError as { name: string }).name === 'ConnectionNotFound');
    host.init('Lib App', 'lazy');
    await eventually(() => lazy.connection, 'lazy to be inited');
    assert.equal(await host.call('com.example.lib', 'execute', { api: 'lazy', method: 'echo', params: 'now' }), 'now');
    unsubscribe();
    const count = events.length;
    lazy.connection!.send('after', {});
    await eventually(() => host.events.recent({ plugin: 'lazy' }).some((e) => e.type === 'plugin-event' && e.method === 'after'), 'the event in the ring');
    assert.equal(events.length, count, 'no events after unsubscribe');
    assert.deepEqual(host.events.recent({ client: 'Lib App', plugin: 'lazy' }).map((e) => e.type === 'plugin-event' && e.method), ['ready', 'after']);
  });

  it('refuses an unknown client with the candidates, and gives a call up on timeout or abort', async () => {
    await assert.rejects(host.call('Nobody', 'getPlugins'), (e: unknown) => {
      assert.ok(e instanceof ClientLookupError && e.kind === 'no-such-client', String(e));
      assert.deepEqual(e.candidates.map((c) => c.app), ['Lib App']);
      return true;
    });
    assert.equal(HostError.is(new ClientLookupError('no-such-client', 'x', [])), true);
    assert.equal(new HostError('timeout', 'x') instanceof ClientLookupError, false);
    const hang = { id: 'hang', runInBackground: true, receivers: { wait: () => new Promise(() => undefined) } };
    const slow = new FlipperClient({ appId: 'com.example.slow', appName: 'Slow', os: 'Linux', device: 'box', stateDir: join(dir, 'slow'), host: '127.0.0.1', ports: host.ports.rsocket!, plugins: [hang], reconnectMs: 100 });
    slow.start();
    try {
      await eventually(() => host.clients().some((c) => c.app === 'Slow'), 'the slow app');
      await assert.rejects(host.call('Slow', 'execute', { api: 'hang', method: 'wait' }, { timeout: 200 }), (e: unknown) => HostError.is(e, 'timeout'));
      const controller = new AbortController();
      const call = host.call('Slow', 'execute', { api: 'hang', method: 'wait' }, { signal: controller.signal });
      controller.abort(new Error('the caller gave up'));
      await assert.rejects(call, /the caller gave up/);
    } finally {
      await slow.stop();
    }
  });

  it('runs the read-only checks and lists the devices', async () => {
    const checks = await host.checks();
    assert.ok(checks.some((c) => /certificate/i.test(c.name)), JSON.stringify(checks));
    assert.deepEqual((await host.devices()).map((d) => d.transport), ['desktop']);
  });
});

describe('startHost options are checked as the config file is', () => {
  const rejects = (options: Parameters<typeof startHost>[0], pattern: RegExp) =>
    assert.rejects(startHost(options), (e: unknown) => {
      assert.ok(HostError.is(e, 'config-invalid') || HostError.is(e, 'plugin-invalid'), String(e));
      assert.match((e as Error).message, pattern);
      return true;
    });

  it('names the key, the origin and the expected form', async () => {
    await rejects({ ports: { insecure: 70000 } }, /^Invalid ports\.insecure \(from startHost options\): expected a port number from 0 to 65535, got 70000\.$/);
    await rejects({ webSocket: { browser: 'x' as unknown as number } }, /Invalid webSocket\.browser \(from startHost options\)/);
    await rejects({ limits: { maxFrameBytes: -1 } }, /Invalid limits\.maxFrameBytes \(from startHost options\): expected a positive whole number/);
    await rejects({ colour: 'red' } as unknown as Parameters<typeof startHost>[0], /Unknown key "colour" in the options of startHost \(which also take logger, logSink and cwd\)\. Known keys: host, ports/);
    await rejects({ plugins: { deviceTransports: ['nonexistent-transport'] } }, /plugins\.deviceTransports\[0\]: "nonexistent-transport" is not a built-in device-transport plugin/);
    await rejects({ plugins: { connectionHandlers: [{ id: 'x' } as never] } }, /Invalid plugins\.connectionHandlers\[0\] \(from startHost options\): not a plugin descriptor: .*`kind` must be one of/);
    await rejects({ plugins: { connectionHandlers: [{ ...definePlugin({ id: 'old', kind: 'connection-handler', description: '', module: new ContainerModule(() => undefined) }), apiVersion: '0.9' }] } }, /plugins\.connectionHandlers\[0\]: plugin "old" cannot be loaded: it was built against plugin API 0\.9/);
  });
});

describe('stop() leaves nothing behind', () => {
  it('a process that started a host, connected an app, called it and stopped exits by itself', async () => {
    const { path: dir, cleanup } = await makeTempDir('sonarhost-stop-');
    const hostModule = new URL('../../src/host/index.js', import.meta.url).href;
    const clientModule = new URL('../../src/client/index.js', import.meta.url).href;
    // Every app-facing server on port 0, the API, and the device transports that watch folders and sockets.
    const script = `
      import { startHost } from ${JSON.stringify(hostModule)};
      import { FlipperClient } from ${JSON.stringify(clientModule)};
      const host = await startHost({ host: '127.0.0.1', ports: { insecure: 0, secure: 0 }, webSocket: { insecure: 0, secure: 0, browser: 0 }, api: { port: 0 }, flipperServer: { port: 0 },
        certDir: ${JSON.stringify(join(dir, 'certs'))}, plugins: { deviceTransports: ['desktop', 'ios-simulator', 'ios-physical'] } });
      const app = new FlipperClient({ appId: 'com.example.exit', appName: 'Exit', os: 'Linux', device: 'box', stateDir: ${JSON.stringify(join(dir, 'app'))},
        host: '127.0.0.1', ports: host.ports.rsocket,
        plugins: [{ id: 'echo', runInBackground: true, receivers: { echo: (p) => p }, onConnect: (c) => c.send('ready', {}) }] });
      // The host inits the background plugin after it registered the app; its first event says it is ready.
      const ready = new Promise((resolve) => { const stop = host.events.subscribe({ plugin: 'echo' }, () => { stop(); resolve(); }); });
      app.start();
      await ready;
      const answer = await host.call('Exit', 'execute', { api: 'echo', method: 'echo', params: 'ok' });
      await app.stop();
      await host.stop();
      process.stdout.write('stopped ' + answer + '\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(() => out.includes('stopped') || child.exitCode !== null, `the script to stop its host; stderr:\n${err}`, 60_000);
      assert.match(out, /^stopped ok\n/, err);
      // From here nothing may keep it alive: no socket, server, timer or watcher.
      const deadline = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 10_000).unref());
      assert.equal(await Promise.race([exited, deadline]), 0, `the process did not exit by itself after stop(); stderr:\n${err}`);
    } finally {
      child.kill('SIGKILL');
      await cleanup();
    }
  });
});
