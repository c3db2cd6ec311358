import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type HealthCheck } from '../../core/health-check.js';
import { describeError } from '../../core/host-error.js';
import { type CertificateFacts, readCertificateFacts } from '../../core/x509/certificate-facts.js';
import { importRsaPrivateKeyPem } from '../../core/x509/webcrypto.js';
import { VALIDITY } from './certificate-issuer.js';

const DAY = 86_400_000;

/** Read-only checks of a certificate folder for `sonarhost doctor`; never creates or renews anything. */
export async function checkCertificateFolder(dir: string, now: Date): Promise<HealthCheck[]> {
  const checks: HealthCheck[] = [];
  try {
    const info = await stat(dir);
    checks.push(
      (info.mode & 0o077) === 0
        ? { name: 'certificate folder', status: 'ok', detail: `${dir} (mode 0700)` }
        : { name: 'certificate folder', status: 'warn', detail: `${dir} is readable by other users (mode ${(info.mode & 0o777).toString(8)})`, fix: 'sonarhost restricts it to 0700 on its next start; or run chmod 700 on it' },
    );
  } catch {
    checks.push({ name: 'certificate folder', status: 'warn', detail: `${dir} does not exist yet`, fix: 'sonarhost creates it on first start (or run `sonarhost certs`)' });
    return checks;
  }
  const ca = await readCertificate(join(dir, 'ca.crt'));
  try {
    await importRsaPrivateKeyPem(await readFile(join(dir, 'ca.key'), 'utf8'));
    checks.push({ name: 'CA key', status: 'ok', detail: 'ca.key is a readable RSA key' });
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    const rotate = 'restore it from a backup, or `sonarhost certs --rotate-ca --yes`';
    checks.push(
      !missing
        ? { name: 'CA key', status: 'fail', detail: `ca.key is damaged (${describeError(error)})`, fix: rotate }
        : ca instanceof Error
          ? { name: 'CA key', status: 'warn', detail: 'ca.key is missing', fix: 'sonarhost creates a new CA on its next start (devices then redo the exchange)' }
          : { name: 'CA key', status: 'fail', detail: 'ca.key is missing beside ca.crt: sonarhost will not start', fix: rotate },
    );
  }
  checks.push(expiryCheck('CA certificate', ca, now, 'sonarhost re-issues it with the same key on its next start'));
  checks.push(expiryCheck('server certificate', await readCertificate(join(dir, 'server.crt')), now, 'sonarhost renews it on its next start, or run `sonarhost certs --renew-server`'));
  return checks;
}

async function readCertificate(path: string): Promise<CertificateFacts | Error> {
  try {
    return readCertificateFacts(await readFile(path, 'utf8'));
  } catch (error) {
    return error as Error;
  }
}

function expiryCheck(name: string, certificate: CertificateFacts | Error, now: Date, fix: string): HealthCheck {
  if (certificate instanceof Error) {
    const missing = (certificate as NodeJS.ErrnoException).code === 'ENOENT';
    return { name, status: missing ? 'warn' : 'fail', detail: missing ? 'missing' : `unreadable (${certificate.message})`, fix };
  }
  const left = certificate.notAfter.getTime() - now.getTime();
  const days = Math.floor(left / DAY);
  if (left <= 0) return { name, status: 'fail', detail: `expired on ${certificate.notAfter.toISOString()}`, fix };
  if (left < VALIDITY.renewWithinMs) return { name, status: 'warn', detail: `expires within 24 hours (${certificate.notAfter.toISOString()})`, fix };
  return { name, status: 'ok', detail: `valid until ${certificate.notAfter.toISOString()} (${days} days)` };
}
