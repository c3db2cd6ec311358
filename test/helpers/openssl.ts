import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs the real openssl CLI (tests only: the host itself never needs it). */
export async function openssl(args: string[], options: { cwd?: string; input?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  if (options.input !== undefined) {
    return new Promise((resolve, reject) => {
      const child = execFile('openssl', args, { cwd: options.cwd }, (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stdout, stderr }));
        else resolve({ stdout, stderr });
      });
      child.stdin!.end(options.input);
    });
  }
  return run('openssl', args, { cwd: options.cwd });
}

/** `openssl req -new` with a fresh key, as an app would; returns the CSR PEM and the key PEM. */
export async function opensslCsr(dir: string, subject: string, bits = 2048, name = 'app'): Promise<{ csr: string; key: string }> {
  await openssl(['req', '-new', '-newkey', `rsa:${bits}`, '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`], { cwd: dir });
  return { csr: await readFile(join(dir, `${name}.csr`), 'utf8'), key: await readFile(join(dir, `${name}.key`), 'utf8') };
}
