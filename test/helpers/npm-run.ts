import { spawn } from 'node:child_process';

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
export function run(command: string, args: string[], cwd: string, options: { timeoutMs?: number; allowFailure?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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
