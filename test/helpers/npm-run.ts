import { spawn } from 'node:child_process';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project folder (this file is dist/test/helpers/npm-run.js once built). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export interface RunResult {
  code: number | null;
  output: string;
}

/**
 * The environment of a command a user would type in another project: without the npm variables of the
 * `npm test` that runs us, and without node:test's child marker (a nested `node --test` would otherwise
 * report to this runner instead of running its own tests).
 */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_') && key !== 'NODE_TEST_CONTEXT' && key !== 'NODE_OPTIONS' && key !== 'INIT_CWD') env[key] = value;
  }
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra };
}

/** Runs a command to its end, output collected; a failure or a timeout rejects with that output. */
export function run(command: string, args: string[], cwd: string, options: { timeoutMs?: number; allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: userEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 || options.allowFailure) resolve({ code, output });
      else reject(new Error(`${command} ${args.join(' ')} in ${cwd} exited with ${code}:\n${output.slice(-6000)}`));
    });
  });
}

/** What installs in tests pass: the npm cache first, no audit or funding round trips. */
export const QUICK_INSTALL = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/**
 * `npm pack` of the project as built by `npm test` (the same compiler options as prepack's
 * tsconfig.publish.json, declarations included), so the suite does not compile src a second time.
 */
export async function pack(dir: string): Promise<string> {
  const stage = join(dir, 'stage');
  await mkdir(stage);
  for (const entry of ['package.json', 'README.md', 'SECURITY.md']) await cp(join(ROOT, entry), join(stage, entry));
  await cp(join(ROOT, 'dist', 'src'), join(stage, 'dist', 'src'), { recursive: true, filter: (source) => !source.endsWith('.map') });
  const { output } = await run(NPM, ['pack', '--ignore-scripts', '--pack-destination', dir, '--loglevel=error'], stage);
  return join(dir, output.trim().split('\n').at(-1)!);
}

/** Marks a promise as handled now (a later test awaits it) so an early failure is reported there. */
export function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
