import { createPublicKey } from 'node:crypto';
import { HostError } from '../host-error.js';
import { RSA_SIGNING, x509 } from './webcrypto.js';

/** App ids travel in the CSR's CN and later reach shells (`run-as <appId>`): letters, digits, `_`, `.`, `-`. */
export const APP_ID_PATTERN = /^(?!\.+$)[\w.-]{1,255}$/;
export const DEFAULT_MAX_CSR_BYTES = 16 * 1024;
export const MIN_RSA_BITS = 2048;

const CSR_PEM = /^-----BEGIN (NEW )?CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+\n-----END (NEW )?CERTIFICATE REQUEST-----$/;

/** As upstream compares CSRs: drop every `\r`, trim. Used for signing input and for device matching. */
export function normalizeCsr(text: string): string {
  return text.replace(/\r/g, '').trim();
}

export interface ParsedCsr {
  /** The normalised PEM text (what was signed, and what `app.csr` must equal). */
  pem: string;
  /** The app id (Android package, iOS bundle id) from the subject CN. */
  appId: string;
  request: x509.Pkcs10CertificateRequest;
  keyBits: number;
}

/**
 * Parses and checks a CSR before anything is signed or written. Accepts version 0 and the SDKs'
 * non-standard version 1. Each refusal has its own kind and says what the app should send instead.
 */
const CACHE_SIZE = 512;
const parsed = new Map<string, Promise<ParsedCsr>>();

/**
 * parseCsr with a small memo of successful parses by PEM text: an app sends the same CSR on every
 * reconnect, and an exchange reads it twice (request check, then signing). Failures are not kept.
 */
export function parseCsrCached(input: unknown, maxBytes = DEFAULT_MAX_CSR_BYTES): Promise<ParsedCsr> {
  if (typeof input !== 'string' || Buffer.byteLength(input) > maxBytes) return parseCsr(input, maxBytes);
  const hit = parsed.get(input);
  if (hit) return hit;
  const result = parseCsr(input, maxBytes);
  parsed.set(input, result);
  if (parsed.size > CACHE_SIZE) parsed.delete(parsed.keys().next().value!);
  result.catch(() => parsed.delete(input));
  return result;
}

export async function parseCsr(input: unknown, maxBytes = DEFAULT_MAX_CSR_BYTES): Promise<ParsedCsr> {
  if (typeof input !== 'string') {
    throw new HostError('csr-not-pem', 'The CSR must be a PEM text ("-----BEGIN CERTIFICATE REQUEST-----"); received ' + typeof input + '.');
  }
  if (Buffer.byteLength(input) > maxBytes) {
    throw new HostError('csr-too-large', `The CSR is ${Buffer.byteLength(input)} bytes; the limit is ${maxBytes} bytes. Send a single PEM CSR for one RSA key.`);
  }
  const pem = normalizeCsr(input);
  if (pem.length === 0) throw new HostError('csr-not-pem', 'Received an empty CSR. The app must send the PEM text of its app.csr.');
  if (!CSR_PEM.test(pem)) {
    throw new HostError('csr-not-pem', 'The CSR is not a PEM certificate request: expected one "-----BEGIN CERTIFICATE REQUEST-----" block and nothing else.');
  }

  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(pem);
    void request.subjectName; // force the lazy parts to parse now
  } catch (error) {
    throw new HostError('csr-malformed', 'The CSR could not be decoded as a PKCS#10 certificate request (bad DER inside the PEM).', { cause: error });
  }

  const keyBits = rsaKeyBits(request);
  if (keyBits < MIN_RSA_BITS) {
    throw new HostError('csr-weak-key', `The CSR carries a ${keyBits}-bit RSA key; sonarhost signs RSA keys of at least ${MIN_RSA_BITS} bits.`);
  }

  let valid = false;
  try {
    valid = await request.verify();
  } catch (error) {
    throw new HostError('csr-bad-signature', 'The CSR signature could not be checked (unsupported signature algorithm?). Sign it with SHA-256 and RSA.', { cause: error });
  }
  if (!valid) {
    throw new HostError('csr-bad-signature', 'The CSR signature does not match its content: it was altered or signed with another key.');
  }

  const appId = commonName(request);
  return { pem, appId, request, keyBits };
}

function rsaKeyBits(request: x509.Pkcs10CertificateRequest): number {
  let details;
  try {
    details = createPublicKey({ key: Buffer.from(request.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (error) {
    throw new HostError('csr-malformed', 'The public key inside the CSR could not be read.', { cause: error });
  }
  if (details.asymmetricKeyType !== 'rsa') {
    throw new HostError('csr-weak-key', `The CSR carries a ${details.asymmetricKeyType ?? 'unknown'} key; sonarhost signs RSA keys of at least ${MIN_RSA_BITS} bits, as the Flipper SDKs generate.`);
  }
  return details.asymmetricKeyDetails?.modulusLength ?? 0;
}

function commonName(request: x509.Pkcs10CertificateRequest): string {
  const names = request.subjectName.getField('CN');
  if (names.length !== 1) {
    throw new HostError('csr-bad-common-name', `The CSR subject must hold exactly one CN with the app id; it holds ${names.length}.`);
  }
  const appId = names[0]!;
  if (!APP_ID_PATTERN.test(appId)) {
    throw new HostError('csr-bad-common-name', `Disallowed app id in the CSR's CN: ${JSON.stringify(appId)}. Only letters, digits, '_', '.' and '-' are allowed.`);
  }
  return appId;
}

/** The subject the Flipper SDKs put in their CSRs, in their order. */
export function sdkCsrSubject(appId: string): string {
  return `C=US, ST=CA, L=Menlo Park, O=Flipper, CN=${appId}`;
}

/** Creates a CSR as the SDKs do (SHA-256, RSA). Used by the client SDK and tests. */
export async function createCsr(appId: string, keys: CryptoKeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: sdkCsrSubject(appId),
    keys,
    signingAlgorithm: RSA_SIGNING,
  });
  return csr.toString('pem');
}

/**
 * The CN of a CSR without checking its signature: for comparing the CSR an app names in its secure
 * SETUP with the certificate it presented over TLS (which TLS has already authenticated).
 */
export function csrCommonName(pem: string): string | undefined {
  if (commonNames.has(pem)) return commonNames.get(pem);
  let name: string | undefined;
  try {
    const names = new x509.Pkcs10CertificateRequest(normalizeCsr(pem)).subjectName.getField('CN');
    name = names.length === 1 ? names[0] : undefined;
  } catch {
    name = undefined;
  }
  commonNames.set(pem, name);
  if (commonNames.size > CACHE_SIZE) commonNames.delete(commonNames.keys().next().value!);
  return name;
}

/** CNs by CSR text: the secure port reads the same CSR on every reconnect of an app. */
const commonNames = new Map<string, string | undefined>();
