import { KeyObject, X509Certificate, createPublicKey } from 'node:crypto';
import { type DerElement, DerError, TAG, bytesOf, childrenOf, contentOf, expectTag, oid, readRoot } from './der.js';
import { sha256Fingerprint, toPem } from './webcrypto.js';

/**
 * What the host needs to know about a certificate it keeps (the CA's, the server's): read with
 * Node's own X.509 support and a few DER offsets. With the certificates made by our own DER encoding
 * (file-certificate-store/certificate-der.ts), the host never loads @peculiar/x509 (about 200 modules;
 * only CSRs, made by the client SDK and the tests, use it).
 */
export interface CertificateFacts {
  /** One canonical PEM block, re-encoded from the DER: what the host serves and writes to devices, whatever else the file held. */
  pem: string;
  der: Buffer;
  /** "C=US, ST=CA, …, CN=…", in the order of the certificate. */
  subject: string;
  issuer: string;
  /** The subject and issuer Names, DER, exactly as in the certificate. */
  subjectDer: Buffer;
  issuerDer: Buffer;
  /** Lower-case hex of the serial number's content bytes. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** The SubjectPublicKeyInfo, DER. */
  publicKeyDer: Buffer;
  /** The subjectKeyIdentifier extension's key id, when the certificate has one. */
  subjectKeyId: Buffer | undefined;
  sha256Fingerprint: string;
  /** Node's view of it, for signature checks. */
  native: X509Certificate;
}

/** The subjectKeyIdentifier extension's OID, DER. */
export const SUBJECT_KEY_IDENTIFIER = oid('2.5.29.14');

/** Reads one PEM certificate; throws when it is not one. */
export function readCertificateFacts(pem: string): CertificateFacts {
  const native = new X509Certificate(pem);
  const der = native.raw;
  const fields = childrenOf(der, expectTag(childrenOf(der, readRoot(der, TAG.sequence))[0], TAG.sequence, 'a TBSCertificate'));
  const at = fields[0]?.tag === 0xa0 ? 1 : 0; // version is optional (v1)
  const serial = expectTag(fields[at], TAG.integer, 'a serial number');
  const issuer = expectTag(fields[at + 2], TAG.sequence, 'an issuer Name');
  const [notBefore, notAfter] = childrenOf(der, expectTag(fields[at + 3], TAG.sequence, 'a validity'));
  const subject = expectTag(fields[at + 4], TAG.sequence, 'a subject Name');
  const spki = expectTag(fields[at + 5], TAG.sequence, 'a SubjectPublicKeyInfo');
  const extensions = fields.slice(at + 6).find((f) => f.tag === 0xa3);
  return {
    pem: toPem(der, 'CERTIFICATE'),
    der,
    subject: oneLine(native.subject),
    issuer: oneLine(native.issuer),
    subjectDer: bytesOf(der, subject),
    issuerDer: bytesOf(der, issuer),
    serialNumber: contentOf(der, serial).toString('hex'),
    notBefore: derDate(contentOf(der, notBefore!), notBefore!.tag),
    notAfter: derDate(contentOf(der, notAfter!), notAfter!.tag),
    publicKeyDer: bytesOf(der, spki),
    subjectKeyId: extensions && subjectKeyId(der, childrenOf(der, extensions)[0]),
    sha256Fingerprint: sha256Fingerprint(der),
    native,
  };
}

/** Whether `certificate` names `issuer` as its issuer and carries a valid signature of the issuer's key. */
export function isSignedBy(certificate: CertificateFacts, issuer: { subjectDer: Buffer }, issuerKey: KeyObject | CryptoKey): boolean {
  if (!certificate.issuerDer.equals(issuer.subjectDer)) return false;
  try {
    return certificate.native.verify(keyObject(issuerKey));
  } catch {
    return false;
  }
}

/** Whether the certificate is for this public key (SubjectPublicKeyInfo compared byte for byte). */
export function isForKey(certificate: CertificateFacts, publicKey: KeyObject | CryptoKey): boolean {
  const key = keyObject(publicKey);
  return (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' }).equals(certificate.publicKeyDer);
}

const keyObject = (key: KeyObject | CryptoKey) => (key instanceof KeyObject ? key : KeyObject.from(key));

/** Node writes one attribute per line; the summaries and logs use the one-line form. */
const oneLine = (name: string) => name.split('\n').join(', ');

function subjectKeyId(der: Buffer, list: DerElement | undefined): Buffer | undefined {
  if (!list) return undefined;
  for (const extension of childrenOf(der, expectTag(list, TAG.sequence, 'the extensions'))) {
    const [id, ...rest] = childrenOf(der, expectTag(extension, TAG.sequence, 'an extension'));
    if (!id || !bytesOf(der, id).equals(SUBJECT_KEY_IDENTIFIER)) continue;
    const value = rest.at(-1);
    const inner = contentOf(der, expectTag(value, TAG.octetString, 'an extension value'));
    return Buffer.from(contentOf(inner, readRoot(inner, TAG.octetString)));
  }
  return undefined;
}

/** UTCTime (YYMMDDHHMMSSZ, years 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSSZ). */
function derDate(content: Buffer, tag: number): Date {
  const text = content.toString('latin1');
  const match = tag === TAG.utcTime ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) throw new DerError(`unsupported certificate time "${text}"`);
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const year = tag === TAG.utcTime ? (y < 50 ? 2000 + y : 1900 + y) : y;
  return new Date(Date.UTC(year, mo - 1, d, h, mi, s));
}
