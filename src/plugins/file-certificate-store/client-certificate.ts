import { KeyObject } from 'node:crypto';
import { TAG, derTime, oid, tlv } from '../../core/x509/der.js';
import { type CertificateAuthorityKeys, VALIDITY } from './certificate-issuer.js';
import { NOT_A_CA, SHA256_WITH_RSA, TLS_KEY_USAGE, VERSION_3, authorityKeyIdExtension, extension, signCertificate, subjectKeyIdExtension } from './certificate-der.js';

const DAY = 86_400_000;

/** What every client certificate states besides its key identifiers: not a CA, TLS client, signing and key exchange. */
const CLIENT_EXTENSIONS = Buffer.concat([
  NOT_A_CA,
  extension('2.5.29.37', false, tlv(TAG.sequence, oid('1.3.6.1.5.5.7.3.2'))), // extKeyUsage: clientAuth
  TLS_KEY_USAGE,
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
    this.authorityKeyId = authorityKeyIdExtension(ca.certificate);
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
      tlv(0xa3, tlv(TAG.sequence, CLIENT_EXTENSIONS, subjectKeyIdExtension(subject.publicKeyDer), this.authorityKeyId)),
    );
    return { pem: await signCertificate(tbs, this.signingKey), notBefore, notAfter };
  }
}

const wholeSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
