import { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { type CertificateSummary } from '../../core/certificate-store.js';
import { type CertificateFacts, readCertificateFacts } from '../../core/x509/certificate-facts.js';
import { TAG, derTime, oid, tlv } from '../../core/x509/der.js';
import { NOT_A_CA, SHA256_WITH_RSA, TLS_KEY_USAGE, VERSION_3, authorityKeyIdExtension, encodeName, extension, signCertificate, subjectKeyIdExtension } from './certificate-der.js';

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

export async function createCaCertificate(keys: CryptoKeyPair, serial: Buffer, now: Date): Promise<CertificateFacts> {
  const subject = encodeName(CA_SUBJECT);
  const spki = publicKeyDer(keys.publicKey);
  const tbs = tbsCertificate(serial, subject, subject, new Date(now.getTime() - VALIDITY.caBackdateMs), new Date(now.getTime() + VALIDITY.caDays * DAY), spki, [
    extension('2.5.29.19', true, tlv(TAG.sequence, tlv(TAG.boolean, Buffer.from([0xff])))), // basicConstraints: CA:TRUE
    extension('2.5.29.15', true, tlv(TAG.bitString, Buffer.from([0x01, 0x86]))), // keyUsage: digitalSignature, keyCertSign, cRLSign
    subjectKeyIdExtension(spki),
  ]);
  return readCertificateFacts(await signCertificate(tbs, KeyObject.from(keys.privateKey)));
}

export async function issueServerCertificate(
  ca: CertificateAuthorityKeys,
  serverPublicKey: CryptoKey,
  serial: Buffer,
  now: Date,
): Promise<CertificateFacts> {
  const notAfter = new Date(now.getTime() + VALIDITY.serverDays * DAY);
  const spki = publicKeyDer(serverPublicKey);
  const names = SERVER_NAMES.map((name) => (isIP(name) ? tlv(0x87, ipAddressBytes(name)) : tlv(0x82, Buffer.from(name, 'latin1'))));
  // The CA's subject as its certificate encodes it (an openssl-made CA may use other string types).
  const tbs = tbsCertificate(
    serial,
    ca.certificate.subjectDer,
    encodeName(SERVER_SUBJECT),
    new Date(now.getTime() - VALIDITY.serverBackdateMs),
    // Never outlive the CA certificate: a chain with a longer-lived leaf confuses strict verifiers.
    notAfter > ca.certificate.notAfter ? ca.certificate.notAfter : notAfter,
    spki,
    [
      NOT_A_CA,
      extension('2.5.29.17', false, tlv(TAG.sequence, ...names)), // subjectAltName
      extension('2.5.29.37', false, tlv(TAG.sequence, oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
      TLS_KEY_USAGE,
      subjectKeyIdExtension(spki),
      authorityKeyIdExtension(ca.certificate),
    ],
  );
  return readCertificateFacts(await signCertificate(tbs, KeyObject.from(ca.keys.privateKey)));
}

/** `serial` as SerialNumbers makes it: positive and minimal, so its bytes are the INTEGER's content as they are. */
function tbsCertificate(serial: Buffer, issuer: Buffer, subject: Buffer, notBefore: Date, notAfter: Date, spki: Buffer, extensions: Buffer[]): Buffer {
  return tlv(
    TAG.sequence,
    VERSION_3,
    tlv(TAG.integer, serial),
    SHA256_WITH_RSA,
    issuer,
    tlv(TAG.sequence, derTime(notBefore), derTime(notAfter)), // whole seconds
    subject,
    spki,
    tlv(0xa3, tlv(TAG.sequence, ...extensions)),
  );
}

const publicKeyDer = (key: CryptoKey): Buffer => KeyObject.from(key).export({ type: 'spki', format: 'der' });

/** The 4 or 16 bytes of an IP address literal, for an iPAddress general name. */
function ipAddressBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  const [head, tail = ''] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head!);
  const right = groups(tail);
  const all = address.includes('::') ? [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right] : left;
  return Buffer.from(all.flatMap((g) => [g >> 8, g & 0xff]));
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
