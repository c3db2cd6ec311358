import { webcrypto } from 'node:crypto';
import { createCsr } from '../../src/core/x509/csr.js';
import { RSA_SIGNING, generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { x509 } from '../../src/core/x509/peculiar-x509.js';

/**
 * A CSR exactly as the Flipper SDKs write it: CertificationRequestInfo.version = 1 (non-standard).
 * Built by patching the version byte of a normal CSR and signing the patched info again, which
 * keeps every length unchanged for RSA-2048.
 */
export async function versionOneCsr(appId: string, keys?: CryptoKeyPair): Promise<{ pem: string; keys: CryptoKeyPair }> {
  keys ??= await generateRsaKeyPair();
  const der = Buffer.from(new x509.Pkcs10CertificateRequest(await createCsr(appId, keys)).rawData);
  // 30 82 LL LL (request) 30 82 LL LL (info) 02 01 00 (version)
  if (der[0] !== 0x30 || der[1] !== 0x82 || der[4] !== 0x30 || der[5] !== 0x82 || der[8] !== 0x02 || der[9] !== 0x01 || der[10] !== 0x00) {
    throw new Error('unexpected CSR layout');
  }
  der[10] = 0x01;
  const infoLength = der.readUInt16BE(6) + 4;
  const info = der.subarray(4, 4 + infoLength);
  const signature = Buffer.from(await webcrypto.subtle.sign(RSA_SIGNING, keys.privateKey, info));
  signature.copy(der, der.length - signature.length);
  return { pem: x509.PemConverter.encode(der, 'CERTIFICATE REQUEST'), keys };
}
