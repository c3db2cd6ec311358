import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { type CertificateReport, CertificateStore, type CertificateSummary } from '../core/certificate-store.js';
import { HostError } from '../core/host-error.js';
import { COMMON_HELP, COMMON_OPTIONS, composeForDiagnostics, createCliLogger, loadConfigFromFlags } from './cli-context.js';

export const CERTS_HELP = `Usage: sonarhost certs [options]

Shows the certificate folder: CA and server subjects, SHA-256 fingerprints and validity.
Creates the CA and server certificate first if they do not exist yet.

Options:
  --renew-server       issue a new server certificate (new key) from the current CA
  --rotate-ca          replace the CA with a new key; every device must redo the certificate
                       exchange. Needs --yes, or a typed confirmation on a terminal.
                       The old files are archived in <cert-dir>/archive/, not deleted.
  --yes                confirm --rotate-ca
  --json               print the report as JSON

${COMMON_HELP}`;

export async function certsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...COMMON_OPTIONS, 'renew-server': { type: 'boolean' }, 'rotate-ca': { type: 'boolean' }, yes: { type: 'boolean' }, json: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(CERTS_HELP + '\n');
    return 0;
  }
  const loaded = await loadConfigFromFlags(values);
  const { config } = loaded;
  const logger = createCliLogger(config.logLevel);
  const { container, skipped } = await composeForDiagnostics('certs', loaded, logger);
  if (skipped.some((s) => s.configKey === 'plugins.certificateStore')) {
    // The built-in store standing in would show (or create) certificates the host never uses.
    throw new HostError('config-invalid', `${loaded.file} names its own certificate store, which certs does not load from a config found in the working folder. If it is yours: sonarhost certs --config ${loaded.file}`);
  }
  const store = container.get<CertificateStore>(CertificateStore);

  if (values['rotate-ca']) {
    if (!values.yes && !process.stdin.isTTY) {
      // A usage error, said once: without a terminal there is nobody to ask.
      process.stderr.write('sonarhost certs: --rotate-ca needs --yes when there is no terminal to confirm on; nothing was changed.\n');
      return 2;
    }
    if (!values.yes && !(await confirmRotation(config.certDir))) {
      process.stderr.write('CA rotation cancelled: nothing was changed. Pass --yes to confirm without a prompt.\n');
      return 1;
    }
    // Load first so a damaged CA is archived as it is; rotation is exactly the way out of that state.
    await store.prepare().catch(() => undefined);
    await store.rotateCertificateAuthority('requested with `sonarhost certs --rotate-ca`');
  } else {
    await store.prepare();
  }
  if (values['renew-server']) await store.renewServerCertificate('requested with `sonarhost certs --renew-server`');

  const report = await store.describe();
  process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, new Date()));
  return 0;
}

async function confirmRotation(certDir: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      `Rotating the CA in ${certDir} makes every device redo the certificate exchange.\nType "rotate" to continue: `,
    );
    return answer.trim() === 'rotate';
  } finally {
    rl.close();
  }
}

export function formatReport(report: CertificateReport, now: Date): string {
  const lines = [`Certificate folder: ${report.location}`, '', ...describeCertificate('CA', report.ca, now), '', ...describeCertificate('Server', report.server, now)];
  if (report.renewals.length > 0) lines.push('', 'Changed now:', ...report.renewals.map((r) => `  - ${r}`));
  return lines.join('\n') + '\n';
}

function describeCertificate(title: string, c: CertificateSummary, now: Date): string[] {
  const days = Math.floor((c.notAfter.getTime() - now.getTime()) / 86_400_000);
  const left = days < 0 ? 'EXPIRED' : `expires in ${days} day${days === 1 ? '' : 's'}`;
  return [
    `${title}:`,
    `  subject:     ${c.subject}`,
    `  issuer:      ${c.issuer}`,
    `  serial:      ${c.serialNumber}`,
    `  SHA-256:     ${c.sha256Fingerprint}`,
    `  valid from:  ${c.notBefore.toISOString()}`,
    `  valid until: ${c.notAfter.toISOString()} (${left})`,
  ];
}
