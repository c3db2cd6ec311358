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

/**
 * The DER bytes of each field of a certificate's TBSCertificate or a CSR's CertificationRequestInfo,
 * as the openssl CLI locates them (`asn1parse`): an independent view of what the host encoded.
 */
export async function opensslTopFields(file: string, kind: 'x509' | 'req', cwd: string): Promise<Buffer[]> {
  const der = (await run('openssl', [kind, '-in', file, '-outform', 'DER'], { cwd, encoding: 'buffer' })).stdout;
  const { stdout } = await openssl(['asn1parse', '-in', file], { cwd }); // offsets into the same DER
  const fields: Buffer[] = [];
  let signedPart = 0;
  for (const line of stdout.split('\n')) {
    const match = /^\s*(\d+):d=(\d+)\s+hl=\s*(\d+)\s+l=\s*(\d+)/.exec(line);
    if (!match) continue;
    const [offset, depth, header, length] = match.slice(1).map(Number) as [number, number, number, number];
    if (depth === 1) signedPart++;
    if (depth === 2 && signedPart === 1) fields.push(der.subarray(offset, offset + header + length));
  }
  return fields;
}
