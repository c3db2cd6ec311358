import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { FlipperClient } from '../src/client/flipper-client.js';
import { HostApiClient } from '../src/cli/host-api-client.js';
import { waitUntil } from './processes.js';
import { SONARHOST_CLI, type SonarhostChild, startSonarhostChild } from './sonarhost-process.js';
import { hrMs, median, p95 } from './stats.js';

export interface RoundTrip {
  count: number;
  medianMs: number;
  p95Ms: number;
}

/** One plugin call (`echo.ping`), answered by the same app, through each face a tool can use. */
export interface ToolRoundTripResult {
  /** HostApiClient on the running host's /api/ws. */
  api?: RoundTrip;
  /** `sonarhost call` (a new process per call, as a script runs it). */
  cli?: RoundTrip;
  /** `call_plugin` through `sonarhost mcp` over stdio, from the MCP SDK's own client. */
  mcp?: RoundTrip;
  errors: string[];
}

/**
 * Row 6: a call_plugin round trip through MCP beside the same call through `sonarhost call` and the API,
 * one at a time, against one sonarhost child and one app (the project's client SDK).
 */
export async function measureToolRoundTrips(dir: string, options: { calls: number; cliCalls: number; deadline: number }): Promise<ToolRoundTripResult> {
  const certDir = join(dir, 'certs');
  const errors: string[] = [];
  const result: ToolRoundTripResult = { errors };
  const host: SonarhostChild = await startSonarhostChild(dir, { certDir, api: true, profile: 'tools-sonarhost' });
  const app = new FlipperClient({
    appId: 'com.example.bench.tools', appName: 'BenchTools', os: 'Linux', device: 'bench', stateDir: join(dir, 'app'),
    host: '127.0.0.1', ports: host.ports, plugins: [{ id: 'echo', runInBackground: true, receivers: { ping: (params) => params } }], reconnectMs: 100,
  });
  let api: HostApiClient | undefined;
  let mcp: Client | undefined;
  try {
    app.start();
    api = await HostApiClient.connect(`ws://127.0.0.1:${host.apiPort!}/api/ws`, (await readFile(join(certDir, 'api.token'), 'utf8')).trim());
    const client = api;
    const ping = (n: number) => client.call('BenchTools', 'execute', { api: 'echo', method: 'ping', params: { n } }, 5000);
    await waitUntil(async () => ping(0).then(() => true, () => false), 'the app to connect and its plugin to be inited', 30_000, 50);

    result.api = await timed(options.calls, options.deadline, (n) => ping(n), errors, 'api');

    result.cli = await timed(options.cliCalls, options.deadline, (n) => runCli(['call', 'BenchTools', 'echo.ping', JSON.stringify({ n }), '--cert-dir', certDir]), errors, 'sonarhost call');

    const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
    mcp = new Client({ name: 'sonarhost-bench', version: '1.0.0' });
    await mcp.connect(new StdioClientTransport({ command: process.execPath, args: [SONARHOST_CLI, 'mcp', '--cert-dir', certDir, '--log-level', 'warn'], env, stderr: 'ignore' }));
    const session = mcp;
    const callPlugin = async (n: number) => {
      const answer = await session.callTool({ name: 'call_plugin', arguments: { client: 'BenchTools', plugin: 'echo', method: 'ping', params: { n } } });
      if (answer.isError) throw new Error((answer.content as Array<{ text: string }>)[0]?.text ?? 'call_plugin failed');
    };
    await callPlugin(0); // the first call connects the MCP server to the host's API
    result.mcp = await timed(options.calls, options.deadline, callPlugin, errors, 'mcp');
  } finally {
    await mcp?.close().catch(() => undefined);
    api?.close();
    await app.stop();
    await host.stop();
  }
  return result;
}

async function timed(count: number, deadline: number, call: (n: number) => Promise<unknown>, errors: string[], what: string): Promise<RoundTrip | undefined> {
  const samples: number[] = [];
  for (let n = 1; n <= count && (samples.length < 3 || Date.now() < deadline); n++) {
    const started = hrMs();
    try {
      await call(n);
      samples.push(hrMs() - started);
    } catch (error) {
      if (errors.length < 8) errors.push(`${what}: ${(error as Error).message.split('\n')[0]}`);
      if (samples.length === 0 && n >= 3) return undefined;
    }
  }
  if (samples.length === 0) return undefined;
  return { count: samples.length, medianMs: median(samples), p95Ms: p95(samples) };
}

function runCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SONARHOST_CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sonarhost ${args[0]} exited with ${code}: ${stderr.slice(0, 300)}`))));
  });
}

/** The row as printed under the bench's table. */
export function formatToolRoundTrips(result: ToolRoundTripResult): string {
  const cell = (r: RoundTrip | undefined) => (r ? `${r.medianMs.toFixed(2)} ms median, ${r.p95Ms.toFixed(2)} ms p95 (${r.count} calls)` : 'not measured');
  const lines = [
    '6. a plugin call round trip (echo.ping, one at a time) through the tools:',
    `   call_plugin through MCP (sonarhost mcp, stdio)   ${cell(result.mcp)}`,
    `   sonarhost call (a process per call)              ${cell(result.cli)}`,
    `   the API (/api/ws, HostApiClient)                 ${cell(result.api)}`,
  ];
  if (result.errors.length) lines.push(`   errors: ${result.errors.join('; ')}`);
  return lines.join('\n');
}
