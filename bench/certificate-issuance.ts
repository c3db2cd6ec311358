import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { systemClock } from '../src/core/clock.js';
import { defaultConfig } from '../src/host/config-sources.js';
import { silentLogger } from '../src/core/logger.js';
import { createCsr, parseCsr } from '../src/core/x509/csr.js';
import { importRsaPrivateKeyPem } from '../src/core/x509/webcrypto.js';
import { FileCertificateStore } from '../src/plugins/file-certificate-store/file-certificate-store.js';
import { fmtMs, median, round } from './stats.js';

/**
 * The host's part of one certificate exchange, in-process: verify the app's CSR and issue its client
 * certificate (FileCertificateStore.signCsr), with a fresh CSR text each time so no cache helps.
 * Reports the median wall time per call and the CPU time per certificate over the whole batch.
 */
export interface IssuanceResults {
  certificates: number;
  signCsrMedianMs: number;
  signCsrCpuMsPerCertificate: number;
  verifyCsrMedianMs: number;
}

export async function measureCertificateIssuance(count = 200): Promise<IssuanceResults> {
  const dir = await mkdtemp(join(os.tmpdir(), 'sonarhost-bench-issuance-'));
  try {
    const store = new FileCertificateStore({ ...defaultConfig(), certDir: dir }, systemClock, silentLogger);
    await store.prepare();
    const csrs = await distinctCsrs(count);

    for (const csr of csrs.slice(0, 20)) await store.signCsr(csr + ' '); // warm up (the trailing space makes another cache key)
    const verifyMs: number[] = [];
    for (const csr of csrs) {
      const started = performance.now();
      await parseCsr(csr);
      verifyMs.push(performance.now() - started);
    }
    const signMs: number[] = [];
    const cpuBefore = process.cpuUsage();
    for (const csr of csrs) {
      const started = performance.now();
      await store.signCsr(csr);
      signMs.push(performance.now() - started);
    }
    const cpu = process.cpuUsage(cpuBefore);
    return {
      certificates: csrs.length,
      signCsrMedianMs: round(median(signMs), 3),
      signCsrCpuMsPerCertificate: round((cpu.user + cpu.system) / 1000 / csrs.length, 3),
      verifyCsrMedianMs: round(median(verifyMs), 3),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Different app ids over a few keys: every CSR text differs, key generation stays out of the budget. */
async function distinctCsrs(count: number): Promise<string[]> {
  const keys = await Promise.all(
    [0, 1, 2, 3].map(async () => importRsaPrivateKeyPem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())),
  );
  const csrs: string[] = [];
  for (let i = 0; i < count; i++) csrs.push(await createCsr(`com.example.bench${i}`, keys[i % keys.length]!));
  return csrs;
}

export function formatIssuance(results: IssuanceResults): string {
  return [
    `Certificate issuance in-process (${results.certificates} distinct CSRs, RSA-2048, SHA-256):`,
    `  verify CSR + issue certificate (signCsr): median ${fmtMs(results.signCsrMedianMs)} per certificate, CPU ${fmtMs(results.signCsrCpuMsPerCertificate)} per certificate (target ≤ 1 ms)`,
    `  verify CSR alone (parseCsr):             median ${fmtMs(results.verifyCsrMedianMs)}`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(formatIssuance(await measureCertificateIssuance()) + '\n');
}
