import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The last inspector that runs on Node 20 (2.x needs Node ≥ 22.19; the standalone inspector-cli 1.0.3 is broken on its own). */
export const MCP_INSPECTOR_VERSION = '1.0.3';
const CACHE = fileURLToPath(new URL(`../../../node_modules/.cache/sonarhost-interop/mcp-inspector-${MCP_INSPECTOR_VERSION}`, import.meta.url));
/** The inspector's command-line entry (`mcp-inspector`), which `--cli` turns into a one-shot MCP client. */
export const MCP_INSPECTOR_CLI = join(CACHE, 'node_modules', '@modelcontextprotocol', 'inspector', 'cli', 'build', 'cli.js');

/** Installs the MCP inspector from npm once (cached under node_modules/.cache); never a dependency of sonarhost. */
export async function ensureMcpInspector(): Promise<void> {
  if (existsSync(MCP_INSPECTOR_CLI)) return;
  await mkdir(CACHE, { recursive: true });
  await promisify(execFile)('npm', ['install', '--prefix', CACHE, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `@modelcontextprotocol/inspector@${MCP_INSPECTOR_VERSION}`], { timeout: 300_000 });
  if (!existsSync(MCP_INSPECTOR_CLI)) throw new Error(`@modelcontextprotocol/inspector@${MCP_INSPECTOR_VERSION} installed without ${MCP_INSPECTOR_CLI}`);
}
