import { createHash, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';

export const RSA_SIGNING: RsaHashedKeyGenParams & RsaHashedImportParams = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
};

/** RSA-2048 key pair, exportable. Costs 60–450 ms: call at start-up, never on a request path. */
export async function generateRsaKeyPair(modulusLength = 2048): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ ...RSA_SIGNING, modulusLength }, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/**
 * Imports a PEM private key in either PKCS#1 ("RSA PRIVATE KEY", older openssl and the SDKs) or
 * PKCS#8 ("PRIVATE KEY", OpenSSL 3) form, together with its public half.
 */
export async function importRsaPrivateKeyPem(pem: string): Promise<CryptoKeyPair> {
  const keyObject = createPrivateKey(pem);
  if (keyObject.asymmetricKeyType !== 'rsa') {
    throw new Error(`expected an RSA private key, found ${keyObject.asymmetricKeyType ?? 'an unknown key type'}`);
  }
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, RSA_SIGNING, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, RSA_SIGNING, true, ['verify']);
  return { privateKey, publicKey } as CryptoKeyPair;
}

/** PKCS#8 PEM, the form OpenSSL 3 writes. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return toPem(der, 'PRIVATE KEY');
}

/** PKCS#1 PEM ("RSA PRIVATE KEY"), the form the Flipper SDKs write to privateKey.pem. */
export async function exportPkcs1PrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs1', format: 'pem' }).toString();
}

/** SHA-256 over the DER bytes, as `openssl x509 -fingerprint -sha256` prints it. */
export function sha256Fingerprint(der: ArrayBuffer | Uint8Array): string {
  const hash = createHash('sha256').update(new Uint8Array(der)).digest();
  return Array.from(hash, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/** One PEM block (64-character lines), with a final newline. */
export function toPem(der: Uint8Array, label: string): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
