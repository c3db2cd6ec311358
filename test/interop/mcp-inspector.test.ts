import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { freePorts } from '../helpers/free-ports.js';
import { MCP_INSPECTOR_CLI, MCP_INSPECTOR_VERSION, ensureMcpInspector } from '../helpers/mcp-inspector.js';
import { run } from '../helpers/npm-run.js';
import { CLI_PATH } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withApi } from '../helpers/test-host.js';

/** The JSON the inspector prints after its deprecation banner. */
function printedJson(output: string): Record<string, unknown> {
  return JSON.parse(output.slice(output.indexOf('\n{') + 1)) as Record<string, unknown>;
}

/** A third-party MCP client, installed from npm at run time, drives `sonarhost mcp` as it would any server. */
describe(`sonarhost mcp under @modelcontextprotocol/inspector@${MCP_INSPECTOR_VERSION} --cli`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let app: FlipperClient;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-inspector-'));
    await ensureMcpInspector();
    host = await startTestHost(dir, withApi);
    const demo = demoPlugin();
    app = new FlipperClient({ appId: 'com.example.inspected', appName: 'Inspected', os: 'Linux', device: 'box', stateDir: join(dir, 'app'), host: '127.0.0.1', ports: host.ports, plugins: [demo], reconnectMs: 100 });
    app.start();
    await eventually(() => demo.connection, 'the app to connect');
  });
  after(async () => {
    await app.stop();
    await host.stop();
    await cleanup();
  });

  it('tools/list against sonarhost mcp --embedded lists the seven tools with their schemas', async () => {
    const site = join(dir, 'embedded');
    const [insecure, secure, api] = await freePorts(3);
    await mkdir(site);
    await writeFile(join(site, 'sonarhost.config.json'), JSON.stringify({ host: '127.0.0.1', ports: { insecure, secure }, webSocket: { insecure: false, secure: false, browser: false }, api: { port: api }, flipperServer: { port: false }, certDir: './certs', plugins: { deviceTransports: ['desktop'] } }));
    const { output } = await run(process.execPath, [MCP_INSPECTOR_CLI, '--cli', process.execPath, CLI_PATH, 'mcp', '--embedded', '--method', 'tools/list'], site, { timeoutMs: 60_000 });
    const tools = printedJson(output).tools as Array<{ name: string; inputSchema: { type: string; properties: Record<string, unknown> } }>;
    assert.deepEqual(tools.map((t) => t.name).sort(), ['call_plugin', 'doctor', 'list_clients', 'list_devices', 'list_plugins', 'recent_events', 'wait_for_client']);
    assert.deepEqual(Object.keys(tools.find((t) => t.name === 'call_plugin')!.inputSchema.properties).sort(), ['client', 'method', 'params', 'plugin', 'timeoutMs']);
  });

  it('tools/call list_clients against the running host shows the connected app', async () => {
    const { output } = await run(process.execPath, [MCP_INSPECTOR_CLI, '--cli', process.execPath, CLI_PATH, 'mcp', '--cert-dir', host.config.certDir, '--method', 'tools/call', '--tool-name', 'list_clients'], dir, { timeoutMs: 60_000 });
    const result = printedJson(output) as { content: Array<{ type: string; text: string }>; isError?: boolean };
    assert.notEqual(result.isError, true, output);
    const clients = JSON.parse(result.content[0]!.text) as Array<{ app: string; appId: string; plugins: string[] }>;
    assert.deepEqual(clients.map((c) => [c.app, c.appId, c.plugins]), [['Inspected', 'com.example.inspected', ['demo']]]);
  });
});
