import { type KeyObject, createHash, sign } from 'node:crypto';
import { type CertificateFacts, SUBJECT_KEY_IDENTIFIER } from '../../core/x509/certificate-facts.js';
import { TAG, childrenOf, contentOf, expectTag, oid, readRoot, tlv } from '../../core/x509/der.js';
import { toPem } from '../../core/x509/webcrypto.js';

/**
 * The DER pieces every certificate this store issues is made of (CA, server and client certificates),
 * encoded in process with node:crypto signing: no X.509 library on the host's path.
 */
export const SHA256_WITH_RSA = tlv(TAG.sequence, oid('1.2.840.113549.1.1.11'), Buffer.from([TAG.null, 0]));
export const VERSION_3 = tlv(0xa0, tlv(TAG.integer, Buffer.from([2])));
const CRITICAL = tlv(TAG.boolean, Buffer.from([0xff]));

export const extension = (id: string | Buffer, critical: boolean, value: Buffer) =>
  tlv(TAG.sequence, typeof id === 'string' ? oid(id) : id, ...(critical ? [CRITICAL] : []), tlv(TAG.octetString, value));

/** basicConstraints, critical: not a CA (server and client certificates). */
export const NOT_A_CA = extension('2.5.29.19', true, tlv(TAG.sequence));

/** keyUsage, critical: digitalSignature and keyEncipherment, what a TLS end point's RSA key does. */
export const TLS_KEY_USAGE = extension('2.5.29.15', true, tlv(TAG.bitString, Buffer.from([0x05, 0xa0])));

/** subjectKeyIdentifier of a SubjectPublicKeyInfo (method 1 below). */
export const subjectKeyIdExtension = (spki: Uint8Array) => extension(SUBJECT_KEY_IDENTIFIER, false, tlv(TAG.octetString, keyIdentifier(spki)));

/**
 * authorityKeyIdentifier of a certificate the CA issues: it must equal the CA's own subject key id (an
 * openssl-made CA may compute it differently), or method 1 over its key when it states none.
 */
export const authorityKeyIdExtension = (ca: CertificateFacts) =>
  extension('2.5.29.35', false, tlv(TAG.sequence, tlv(0x80, ca.subjectKeyId ?? keyIdentifier(ca.publicKeyDer))));

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits of a SubjectPublicKeyInfo. */
function keyIdentifier(spki: Uint8Array): Buffer {
  const [, key] = childrenOf(spki, readRoot(spki, TAG.sequence));
  return createHash('sha1').update(contentOf(spki, expectTag(key, TAG.bitString, 'a public key BIT STRING')).subarray(1)).digest();
}

const NAME_ATTRIBUTES: Record<string, string> = { C: '2.5.4.6', ST: '2.5.4.8', L: '2.5.4.7', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' };

/**
 * A Name from "C=US, ST=CA, …, CN=x", one attribute per RDN in the order given, each a PrintableString
 * (what upstream's openssl-made CA and our earlier certificates use for these plain ASCII values).
 */
export function encodeName(text: string): Buffer {
  const rdns = text.split(', ').map((part) => {
    const [key, value] = [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)];
    const id = NAME_ATTRIBUTES[key];
    if (!id || !/^[A-Za-z0-9 '()+,\-./:=?]+$/.test(value)) throw new Error(`cannot encode the name part ${JSON.stringify(part)}`);
    return tlv(TAG.set, tlv(TAG.sequence, oid(id), tlv(TAG.printableString, Buffer.from(value, 'latin1'))));
  });
  return tlv(TAG.sequence, ...rdns);
}

/** Signs a TBSCertificate with the issuer's key (on the thread pool) and returns the certificate as PEM. */
export async function signCertificate(tbs: Buffer, issuerKey: KeyObject): Promise<string> {
  const signature = await new Promise<Buffer>((resolve, reject) => sign('sha256', tbs, issuerKey, (error, value) => (error ? reject(error) : resolve(value))));
  return toPem(tlv(TAG.sequence, tbs, SHA256_WITH_RSA, tlv(TAG.bitString, Buffer.from([0]), signature)), 'CERTIFICATE');
}
