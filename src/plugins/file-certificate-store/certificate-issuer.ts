import { isIP } from 'node:net';
import { type CertificateSummary } from '../../core/certificate-store.js';
import type * as X509 from '@peculiar/x509';
import { type CertificateFacts, readCertificateFacts } from '../../core/x509/certificate-facts.js';
import { loadX509 } from '../../core/x509/load-x509.js';
import { RSA_SIGNING } from '../../core/x509/webcrypto.js';

/** Subjects as upstream Flipper uses them, so existing tooling recognises the files. */
export const CA_SUBJECT = 'C=US, ST=CA, L=Menlo Park, O=Sonar, CN=SonarCA';
export const SERVER_SUBJECT = 'C=US, ST=CA, L=Menlo Park, O=Sonar, CN=localhost';
export const SERVER_NAMES = ['localhost', '127.0.0.1', '::1'];

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/**
 * Validity policy. The CA lives a year; the WebSocket-era Android SDK also wants its notBefore to be
 * under 30 days old, which is met by re-issuing the CA certificate with the same key after 25 days
 * (device certificates already issued stay valid: same key, same subject).
 * The server certificate lives 30 days, like upstream's openssl default, and is renewed a day before.
 * Client certificates (ClientCertificateSigner) are back-dated a day so devices with a skewed clock accept them.
 */
export const VALIDITY = {
  caDays: 365,
  serverDays: 30,
  clientDays: 365,
  caBackdateMs: HOUR,
  serverBackdateMs: HOUR,
  clientBackdateMs: DAY,
  renewWithinMs: DAY,
  /** The Android WebSocket SDK accepts a CA certificate issued at most 30 days ago: re-issue it (same key) well before. */
  caReissueAfterMs: 25 * DAY,
} as const;

export interface CertificateAuthorityKeys {
  certificate: CertificateFacts;
  keys: CryptoKeyPair;
}

const facts = (certificate: X509.X509Certificate) => readCertificateFacts(certificate.toString('pem'));

export async function createCaCertificate(keys: CryptoKeyPair, serialNumber: string, now: Date): Promise<CertificateFacts> {
  const x509 = await loadX509();
  return facts(await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber,
    name: CA_SUBJECT,
    notBefore: new Date(now.getTime() - VALIDITY.caBackdateMs),
    notAfter: new Date(now.getTime() + VALIDITY.caDays * DAY),
    keys,
    signingAlgorithm: RSA_SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  }));
}

export async function issueServerCertificate(
  ca: CertificateAuthorityKeys,
  serverPublicKey: CryptoKey,
  serialNumber: string,
  now: Date,
): Promise<CertificateFacts> {
  const x509 = await loadX509();
  const names = SERVER_NAMES.map((name) => ({ type: isIP(name) ? 'ip' : 'dns', value: name }) as X509.JsonGeneralName);
  return issue(x509, ca, serverPublicKey, SERVER_SUBJECT, serialNumber, now, VALIDITY.serverBackdateMs, VALIDITY.serverDays, [
    new x509.SubjectAlternativeNameExtension(names),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
  ]);
}

async function issue(
  x509: typeof X509,
  ca: CertificateAuthorityKeys,
  publicKey: CryptoKey,
  subject: string,
  serialNumber: string,
  now: Date,
  backdateMs: number,
  days: number,
  extensions: X509.Extension[],
): Promise<CertificateFacts> {
  const notAfter = new Date(now.getTime() + days * DAY);
  return facts(await x509.X509CertificateGenerator.create({
    serialNumber,
    subject,
    // The CA's subject as its certificate encodes it (an openssl-made CA may use other string types).
    issuer: new x509.Name(new Uint8Array(ca.certificate.subjectDer)),
    notBefore: new Date(now.getTime() - backdateMs),
    // Never outlive the CA certificate: a chain with a longer-lived leaf confuses strict verifiers.
    notAfter: notAfter > ca.certificate.notAfter ? ca.certificate.notAfter : notAfter,
    publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: RSA_SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...extensions,
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await authorityKeyIdentifier(x509, ca.keys.publicKey),
    ],
  }));
}

const authorityKeyIdentifiers = new WeakMap<CryptoKey, Promise<X509.AuthorityKeyIdentifierExtension>>();

/** The CA's key identifier is the same for every certificate it signs: computed once per CA key. */
function authorityKeyIdentifier(x509: typeof X509, caPublicKey: CryptoKey): Promise<X509.AuthorityKeyIdentifierExtension> {
  let extension = authorityKeyIdentifiers.get(caPublicKey);
  if (!extension) {
    extension = x509.AuthorityKeyIdentifierExtension.create(caPublicKey);
    authorityKeyIdentifiers.set(caPublicKey, extension);
  }
  return extension;
}

export function summarize(certificate: CertificateFacts): CertificateSummary {
  return {
    subject: certificate.subject,
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    sha256Fingerprint: certificate.sha256Fingerprint,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
  };
}
