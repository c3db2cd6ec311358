import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ResourceListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { clientShortId } from '../../src/core/client-short-id.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { accepts, freePorts } from '../helpers/free-ports.js';
import { CLI_PATH } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withApi } from '../helpers/test-host.js';

const TOOLS = ['call_plugin', 'doctor', 'list_clients', 'list_devices', 'list_plugins', 'recent_events', 'wait_for_client'];

interface OpenMcp {
  client: Client;
  stderr(): string;
  /** How many notifications/resources/list_changed arrived so far. */
  listChanges(): number;
  tool(name: string, args?: Record<string, unknown>): Promise<{ isError: boolean; text: string; json: () => unknown }>;
  close(): Promise<void>;
}

/** `sonarhost mcp` spawned by the official SDK's own client, over stdio, as an MCP client runs it. */
async function openMcp(args: string[], cwd: string): Promise<OpenMcp> {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && e[0] !== 'NODE_TEST_CONTEXT'));
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI_PATH, 'mcp', ...args], cwd, env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'sonarhost-test', version: '1.0.0' });
  let changes = 0;
  client.setNotificationHandler(ResourceListChangedNotificationSchema, async () => void changes++);
  await client.connect(transport);
  return {
    client,
    stderr: () => stderr,
    listChanges: () => changes,
    tool: async (name, toolArgs = {}) => {
      const result = await client.callTool({ name, arguments: toolArgs });
      const text = (result.content as Array<{ type: string; text: string }>)[0]!.text;
      return { isError: result.isError === true, text, json: () => JSON.parse(text) as unknown };
    },
    close: () => client.close(),
  };
}

/** An app with a background plugin `demo` and a plugin `lazy` that answers only after the host inits it. */
function startApp(dir: string, ports: { insecure: number; secure: number }, appName = 'Mcp App'): FlipperClient & { lazy: ReturnType<typeof demoPlugin> } {
  const lazy = demoPlugin('lazy', false);
  const app = Object.assign(
    new FlipperClient({ appId: 'com.example.mcp', appName, os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'), host: '127.0.0.1', ports, plugins: [demoPlugin('demo'), lazy], reconnectMs: 100 }),
    { lazy },
  );
  app.start();
  return app;
}

/** The same conversation with either kind of server: an app connects, is waited for, called, and its events read. */
async function exerciseWithApp(mcp: OpenMcp, dir: string, ports: { insecure: number; secure: number }): Promise<FlipperClient> {
  const tools = (await mcp.client.listTools()).tools;
  assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
  for (const t of tools) {
    assert.ok((t.description ?? '').length > 40, `${t.name} has a description an agent can act on`);
    assert.equal(t.inputSchema.type, 'object');
  }
  const callTool = tools.find((t) => t.name === 'call_plugin')!;
  assert.deepEqual([...((callTool.inputSchema.required as string[] | undefined) ?? [])].sort(), ['client', 'method', 'plugin']);

  const empty = await mcp.tool('list_clients');
  assert.equal(empty.isError, false, empty.text);
  assert.deepEqual(empty.json(), []);

  const changesBefore = mcp.listChanges();
  const waiting = mcp.tool('wait_for_client', { client: 'Mcp App', timeoutMs: 30_000 });
  const app = startApp(dir, ports);
  const waited = await waiting;
  assert.equal(waited.isError, false, waited.text);
  const info = waited.json() as { shortId: string; id: string; app: string; appId: string; plugins: string[]; backgroundPlugins: string[]; connectedSince: string };
  assert.equal(info.app, 'Mcp App');
  assert.equal(info.appId, 'com.example.mcp');
  assert.equal(info.shortId, clientShortId(info.id));
  assert.deepEqual(info.plugins, ['demo', 'lazy']);
  assert.deepEqual(info.backgroundPlugins, ['demo']);

  await eventually(() => mcp.listChanges() > changesBefore, 'notifications/resources/list_changed after the app connected');
  const resources = (await mcp.client.listResources()).resources;
  assert.deepEqual(resources.map((r) => r.uri), [`sonarhost://clients/${info.shortId}`]);
  const read = await mcp.client.readResource({ uri: `sonarhost://clients/${info.shortId}` });
  assert.equal((JSON.parse((read.contents[0] as { text: string }).text) as { id: string }).id, info.id);

  const listed = await mcp.tool('list_clients');
  assert.deepEqual((listed.json() as Array<{ shortId: string }>).map((c) => c.shortId), [info.shortId]);
  const plugins = await mcp.tool('list_plugins', { client: info.shortId });
  assert.deepEqual(plugins.json(), { plugins: ['demo', 'lazy'], backgroundPlugins: ['demo'] });

  const echoed = await mcp.tool('call_plugin', { client: 'Mcp App', plugin: 'demo', method: 'echo', params: { hello: [1, 2] } });
  assert.equal(echoed.isError, false, echoed.text);
  assert.deepEqual(echoed.json(), { hello: [1, 2] });
  // `lazy` is not a background plugin: the app answers ConnectionNotFound until it gets init.
  const lazyConnection = () => app.lazy.connection;
  assert.equal(lazyConnection(), undefined, 'lazy is not connected before the call');
  const lazy = await mcp.tool('call_plugin', { client: info.shortId, plugin: 'lazy', method: 'echo', params: 'late' });
  assert.equal(lazy.isError, false, lazy.text);
  assert.equal(lazy.json(), 'late');
  assert.ok(lazyConnection(), 'the server sent init');

  const failed = await mcp.tool('call_plugin', { client: info.shortId, plugin: 'demo', method: 'fail' });
  assert.equal(failed.isError, true);
  assert.match(failed.text, /asked to fail/);
  const noPlugin = await mcp.tool('call_plugin', { client: info.shortId, plugin: 'network', method: 'x' });
  assert.equal(noPlugin.isError, true);
  assert.match(noPlugin.text, /has no plugin "network"\. Its plugins: demo, lazy/);
  const unknown = await mcp.tool('call_plugin', { client: 'Nobody', plugin: 'demo', method: 'echo' });
  assert.equal(unknown.isError, true);
  assert.match(unknown.text, /No connected client has the id, short id, app id or app name "Nobody"/);
  assert.match(unknown.text, new RegExp(`Name one of these by its short id:\\n {2}${info.shortId} {2}Mcp App`));

  const huge = await mcp.tool('call_plugin', { client: info.shortId, plugin: 'demo', method: 'echo', params: { blob: 'x'.repeat(200_000) } });
  assert.equal(huge.isError, false);
  assert.ok(huge.text.length < 70_000, `bounded: ${huge.text.length} characters`);
  assert.match(huge.text, /… \[truncated: the answer is \d+ characters, only the first 65536 are shown/);

  lazyConnection()!.send('tick', { n: 1 });
  const events = await eventually(async () => {
    const answer = await mcp.tool('recent_events', { client: 'Mcp App', plugin: 'lazy' });
    const list = answer.json() as Array<{ type: string; method: string; params: unknown }>;
    return list.some((e) => e.method === 'tick') && list;
  }, 'the plugin events in recent_events');
  assert.deepEqual(events.map((e) => [e.type, e.method]), [['plugin-event', 'ready'], ['plugin-event', 'tick']]);
  const all = (await mcp.tool('recent_events', { limit: 500 })).json() as Array<{ type: string; at: string }>;
  assert.ok(all.some((e) => e.type === 'client-connected'));
  const newest = all.at(-1)!;
  assert.deepEqual((await mcp.tool('recent_events', { since: newest.at })).json(), []);

  const doctor = await mcp.tool('doctor');
  assert.equal(doctor.isError, false, doctor.text);
  const checks = doctor.json() as Array<{ name: string; status: string; detail: string }>;
  assert.ok(checks.some((c) => c.name === 'sonarhost' && c.status === 'ok'), doctor.text);
  for (const c of checks) assert.ok(['ok', 'warn', 'fail'].includes(c.status));
  const devices = await mcp.tool('list_devices');
  assert.deepEqual((devices.json() as Array<{ transport: string }>).map((d) => d.transport), ['desktop']);

  const gone = mcp.listChanges();
  await app.stop();
  await eventually(() => mcp.listChanges() > gone, 'list_changed after the app left');
  assert.deepEqual((await mcp.client.listResources()).resources, []);
  assert.equal(mcp.stderr().includes('"jsonrpc"'), false, 'the protocol stays on stdout');
  return app;
}

describe('sonarhost mcp, with the running host of the certificate folder', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let mcp: OpenMcp | undefined;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-mcp-'));
    host = await startTestHost(dir, withApi);
    await writeFile(join(dir, 'sonarhost.config.json'), JSON.stringify({ host: '127.0.0.1', plugins: { deviceTransports: ['desktop'] }, api: { port: host.apiPort }, flipperServer: { port: false } }));
  });
  after(async () => {
    await mcp?.close();
    await host.stop();
    await cleanup();
  });

  it('lists the tools, waits for an app, calls its plugins (init first when needed), reads its events, and tells of client-list changes', async () => {
    mcp = await openMcp(['--cert-dir', host.config.certDir], dir);
    await exerciseWithApp(mcp, dir, host.ports);
  });
});

describe('sonarhost mcp --embedded', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => ({ path: dir, cleanup } = await makeTempDir('sonarhost-mcp-embedded-')));
  after(() => cleanup());

  it('runs its own host: the same tools against it, and the host stops with the MCP connection', async () => {
    const [insecure, secure, api] = await freePorts(3);
    await writeFile(
      join(dir, 'sonarhost.config.json'),
      JSON.stringify({ host: '127.0.0.1', ports: { insecure, secure }, webSocket: { insecure: false, secure: false, browser: false }, api: { port: api }, flipperServer: { port: false }, certDir: './certs', plugins: { deviceTransports: ['desktop'] } }),
    );
    const mcp = await openMcp(['--embedded'], dir);
    try {
      assert.ok(await accepts(insecure!), 'the embedded host listens');
      await exerciseWithApp(mcp, dir, { insecure: insecure!, secure: secure! });
    } finally {
      await mcp.close();
    }
    await eventually(async () => !(await accepts(insecure!)) && !(await accepts(api!)), 'the embedded host to free its ports');
  });
});

describe('sonarhost mcp with no host running', () => {
  it('answers a tool call with an error that says how to start a host', async () => {
    const { path: dir, cleanup } = await makeTempDir('sonarhost-mcp-none-');
    const mcp = await openMcp(['--cert-dir', join(dir, 'no-host-here')], dir);
    try {
      const answer = await mcp.tool('list_clients');
      assert.equal(answer.isError, true);
      assert.match(answer.text, /No sonarhost is running for the certificate folder .*no-host-here/);
      assert.match(answer.text, /"sonarhost start" \(or "npm start" in a sonarhost clone\), or configure this MCP server as "sonarhost mcp --embedded"/);
      const call = await mcp.tool('call_plugin', { client: 'x', plugin: 'y', method: 'z' });
      assert.equal(call.isError, true);
      assert.match(call.text, /sonarhost mcp --embedded/);
    } finally {
      await mcp.close();
      await cleanup();
    }
  });

  it('exits by itself when its client closes stdin, with and without --embedded', async () => {
    const { path: dir, cleanup } = await makeTempDir('sonarhost-mcp-exit-');
    try {
      const [insecure, secure] = await freePorts(2);
      await writeFile(join(dir, 'sonarhost.config.json'), JSON.stringify({ host: '127.0.0.1', ports: { insecure, secure }, webSocket: { insecure: false, secure: false, browser: false }, api: { port: false }, flipperServer: { port: false }, certDir: './certs', plugins: { deviceTransports: ['desktop'] } }));
      for (const args of [[], ['--embedded']]) {
        const child = spawn(process.execPath, [CLI_PATH, 'mcp', ...args], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        try {
          await eventually(() => stderr.includes('MCP server on stdio') || child.exitCode !== null, `mcp ${args.join(' ')} to start; stderr:\n${stderr}`, 30_000);
          child.stdin.end();
          const guard = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 15_000).unref());
          assert.equal(await Promise.race([exited, guard]), 0, `mcp ${args.join(' ')} did not exit after stdin closed; stderr:\n${stderr}`);
        } finally {
          child.kill('SIGKILL');
        }
      }
    } finally {
      await cleanup();
    }
  });

  it('--embedded on a port already held says so, and that the running host can be used instead', async () => {
    const { path: dir, cleanup } = await makeTempDir('sonarhost-mcp-busy-');
    const held = createServer();
    try {
      held.listen(0, '127.0.0.1');
      await once(held, 'listening');
      const [secure] = await freePorts(1);
      const insecure = (held.address() as AddressInfo).port;
      await writeFile(join(dir, 'sonarhost.config.json'), JSON.stringify({ host: '127.0.0.1', ports: { insecure, secure }, webSocket: { insecure: false, secure: false, browser: false }, api: { port: false }, flipperServer: { port: false }, certDir: './certs', plugins: { deviceTransports: ['desktop'] } }));
      const { runCli } = await import('../helpers/run-cli.js');
      const result = await runCli(['mcp', '--embedded'], { cwd: dir, timeoutMs: 60_000 });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout, '', 'nothing but the protocol on stdout');
      assert.match(result.stderr, new RegExp(`Port ${insecure} on 127\\.0\\.0\\.1 is already in use.* If a sonarhost already runs there, drop --embedded: "sonarhost mcp" uses the running host\\.`));
    } finally {
      held.close();
      await cleanup();
    }
  });

  it('mcp --help says what it does, how to configure a client, and lists the tools', async () => {
    const { runCli } = await import('../helpers/run-cli.js');
    const help = await runCli(['mcp', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: sonarhost mcp \[--embedded\]/);
    assert.match(help.stdout, /"mcpServers"/);
    for (const name of TOOLS) assert.match(help.stdout, new RegExp(name));
    const top = await runCli(['--help']);
    assert.match(top.stdout, /\n {2}mcp +\S/);
  });
});
