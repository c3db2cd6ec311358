import { KeyObject, createHash, sign } from 'node:crypto';
import { TAG, childrenOf, contentOf, derTime, expectTag, oid, readRoot, tlv } from '../../core/x509/der.js';
import { toPem } from '../../core/x509/webcrypto.js';
import { type CertificateAuthorityKeys, VALIDITY } from './certificate-issuer.js';

const DAY = 86_400_000;

const SHA256_WITH_RSA = tlv(TAG.sequence, oid('1.2.840.113549.1.1.11'), Buffer.from([TAG.null, 0]));
const VERSION_3 = tlv(0xa0, tlv(TAG.integer, Buffer.from([2])));
const CRITICAL = tlv(TAG.boolean, Buffer.from([0xff]));

const extension = (id: string | Buffer, critical: boolean, value: Buffer) =>
  tlv(TAG.sequence, typeof id === 'string' ? oid(id) : id, ...(critical ? [CRITICAL] : []), tlv(TAG.octetString, value));
const SUBJECT_KEY_IDENTIFIER = oid('2.5.29.14');

/** What every client certificate states besides its key identifiers: not a CA, TLS client, signing and key exchange. */
const CLIENT_EXTENSIONS = Buffer.concat([
  extension('2.5.29.19', true, tlv(TAG.sequence)), // basicConstraints: CA:FALSE
  extension('2.5.29.37', false, tlv(TAG.sequence, oid('1.3.6.1.5.5.7.3.2'))), // extKeyUsage: clientAuth
  extension('2.5.29.15', true, tlv(TAG.bitString, Buffer.from([0x05, 0xa0]))), // keyUsage: digitalSignature, keyEncipherment
]);

export interface ClientCertificateSubject {
  /** The subject Name, DER, as in the CSR. */
  subjectDer: Buffer;
  /** The SubjectPublicKeyInfo, DER, as in the CSR. */
  publicKeyDer: Buffer;
}

export interface SignedClientCertificate {
  pem: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Issues client certificates at the cost of one RSA signature: everything that depends only on the CA
 * (issuer name, authority key id, the fixed extensions, the signing key) is encoded once, and the
 * CSR's subject and public key are copied in as the bytes the app signed. The certificate says what
 * upstream's `openssl x509 -req` certificates say, plus the key usages a TLS client needs.
 */
export class ClientCertificateSigner {
  private readonly issuerDer: Buffer;
  private readonly authorityKeyId: Buffer;
  private readonly caNotAfter: Date;

  private readonly signingKey: KeyObject;

  constructor(ca: CertificateAuthorityKeys) {
    this.signingKey = KeyObject.from(ca.keys.privateKey);
    this.issuerDer = ca.certificate.subjectDer;
    // The authority key id must equal the CA's own subject key id (an openssl-made CA may compute it differently).
    const identifier = ca.certificate.subjectKeyId ?? keyIdentifier(ca.certificate.publicKeyDer);
    this.authorityKeyId = extension('2.5.29.35', false, tlv(TAG.sequence, tlv(0x80, identifier)));
    this.caNotAfter = ca.certificate.notAfter;
  }

  async issue(subject: ClientCertificateSubject, serial: Buffer, now: Date): Promise<SignedClientCertificate> {
    const notBefore = wholeSeconds(now.getTime() - VALIDITY.clientBackdateMs);
    // Never outlive the CA certificate: a chain with a longer-lived leaf confuses strict verifiers.
    const notAfter = wholeSeconds(Math.min(now.getTime() + VALIDITY.clientDays * DAY, this.caNotAfter.getTime()));
    const tbs = tlv(
      TAG.sequence,
      VERSION_3,
      tlv(TAG.integer, serial),
      SHA256_WITH_RSA,
      this.issuerDer,
      tlv(TAG.sequence, derTime(notBefore), derTime(notAfter)),
      subject.subjectDer,
      subject.publicKeyDer,
      tlv(0xa3, tlv(TAG.sequence, CLIENT_EXTENSIONS, extension(SUBJECT_KEY_IDENTIFIER, false, tlv(TAG.octetString, keyIdentifier(subject.publicKeyDer))), this.authorityKeyId)),
    );
    const signature = await new Promise<Buffer>((resolve, reject) => sign('sha256', tbs, this.signingKey, (error, value) => (error ? reject(error) : resolve(value))));
    const der = tlv(TAG.sequence, tbs, SHA256_WITH_RSA, tlv(TAG.bitString, Buffer.from([0]), signature));
    return { pem: toPem(der, 'CERTIFICATE'), notBefore, notAfter };
  }
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits of a SubjectPublicKeyInfo. */
function keyIdentifier(spki: Uint8Array): Buffer {
  const [, key] = childrenOf(spki, readRoot(spki, TAG.sequence));
  return createHash('sha1').update(contentOf(spki, expectTag(key, TAG.bitString, 'a public key BIT STRING')).subarray(1)).digest();
}

const wholeSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
