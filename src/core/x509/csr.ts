import { type KeyObject, createPublicKey, verify } from 'node:crypto';
import { HostError } from '../host-error.js';
import { DerError, TAG, bytesOf, childrenOf, contentOf, expectTag, oid, readRoot, tlv } from './der.js';
import { loadX509 } from './load-x509.js';
import { RSA_SIGNING } from './webcrypto.js';

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
  /** The subject Name, DER, exactly as in the CSR: the client certificate carries these bytes over. */
  subjectDer: Buffer;
  /** The SubjectPublicKeyInfo, DER, exactly as in the CSR. */
  publicKeyDer: Buffer;
  keyBits: number;
}

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

/** The signature algorithms a CSR may use (RSA PKCS#1 v1.5), by their DER OID bytes. */
const SIGNATURE_HASHES = new Map<string, string>([
  [oid('1.2.840.113549.1.1.11').toString('hex'), 'sha256'],
  [oid('1.2.840.113549.1.1.12').toString('hex'), 'sha384'],
  [oid('1.2.840.113549.1.1.13').toString('hex'), 'sha512'],
  [oid('1.2.840.113549.1.1.5').toString('hex'), 'sha1'],
]);
const COMMON_NAME = oid('2.5.4.3');

/**
 * Parses and checks a CSR before anything is signed or written. Accepts version 0 and the SDKs'
 * non-standard version 1: the signature is checked over the CertificationRequestInfo bytes as
 * received, never re-encoded. Each refusal has its own kind and says what the app should send instead.
 */
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

  let request: CsrParts;
  try {
    request = csrParts(pemBody(pem));
  } catch (error) {
    throw new HostError('csr-malformed', 'The CSR could not be decoded as a PKCS#10 certificate request (bad DER inside the PEM).', { cause: error });
  }

  const { key, keyBits } = rsaPublicKey(request.publicKeyDer);
  if (keyBits < MIN_RSA_BITS) {
    throw new HostError('csr-weak-key', `The CSR carries a ${keyBits}-bit RSA key; sonarhost signs RSA keys of at least ${MIN_RSA_BITS} bits.`);
  }

  const hash = SIGNATURE_HASHES.get(request.algorithm.toString('hex'));
  if (!hash || request.signature === undefined) {
    throw new HostError('csr-bad-signature', 'The CSR signature could not be checked (unsupported signature algorithm?). Sign it with SHA-256 and RSA.');
  }
  if (!verify(hash, request.info, key, request.signature)) {
    throw new HostError('csr-bad-signature', 'The CSR signature does not match its content: it was altered or signed with another key.');
  }

  const appId = commonName(request.subjectDer);
  return { pem, appId, subjectDer: request.subjectDer, publicKeyDer: request.publicKeyDer, keyBits };
}

interface CsrParts {
  /** CertificationRequestInfo, the signed bytes. */
  info: Buffer;
  subjectDer: Buffer;
  publicKeyDer: Buffer;
  /** The signature algorithm's OID element. */
  algorithm: Buffer;
  /** The signature value; undefined when the algorithm carries parameters we do not accept. */
  signature: Buffer | undefined;
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/^-----[^\n]*\n|\n-----[^\n]*$/g, '').replace(/\n/g, ''), 'base64');
}

/** CertificationRequest ::= SEQUENCE { info SEQUENCE { version, subject, spki, [0] attributes }, algorithm, signature } */
function csrParts(der: Buffer): CsrParts {
  const root = readRoot(der, TAG.sequence);
  const [infoElement, algorithmElement, signatureElement, ...extra] = childrenOf(der, root);
  if (extra.length > 0) throw new DerError('extra elements after the signature');
  const info = expectTag(infoElement, TAG.sequence, 'CertificationRequestInfo');
  const [version, subject, spki, attributes, ...more] = childrenOf(der, info);
  expectTag(version, TAG.integer, 'a version');
  expectTag(subject, TAG.sequence, 'a subject Name');
  expectTag(spki, TAG.sequence, 'a SubjectPublicKeyInfo');
  if (attributes?.tag !== 0xa0 || more.length > 0) throw new DerError('expected the [0] attributes to end CertificationRequestInfo');

  const [algorithmOid, parameters, ...rest] = childrenOf(der, expectTag(algorithmElement, TAG.sequence, 'a signature AlgorithmIdentifier'));
  expectTag(algorithmOid, TAG.oid, 'a signature algorithm OID');
  // PKCS#1 v1.5 signatures take NULL parameters, or none.
  const plainParameters = rest.length === 0 && (parameters === undefined || (parameters.tag === TAG.null && parameters.end === parameters.contentStart));
  const bits = contentOf(der, expectTag(signatureElement, TAG.bitString, 'a signature BIT STRING'));
  if (bits.length < 2 || bits[0] !== 0) throw new DerError('the signature BIT STRING must hold whole bytes');
  return {
    info: bytesOf(der, info),
    subjectDer: bytesOf(der, subject!),
    publicKeyDer: bytesOf(der, spki!),
    algorithm: bytesOf(der, algorithmOid!),
    signature: plainParameters ? bits.subarray(1) : undefined,
  };
}

const RSA_ENCRYPTION = tlv(TAG.sequence, oid('1.2.840.113549.1.1.1'), Buffer.from([TAG.null, 0]));

/**
 * An RSA key is imported from its PKCS#1 bytes inside the SubjectPublicKeyInfo: OpenSSL imports those
 * in about 8 µs, where the SPKI form goes through its generic decoders (about 250 µs, half the cost of
 * checking a CSR). Any other key type takes the generic path, to be named in the refusal.
 */
function importPublicKey(spki: Buffer): KeyObject {
  const [algorithm, bits, ...extra] = childrenOf(spki, readRoot(spki, TAG.sequence));
  if (algorithm && bits?.tag === TAG.bitString && extra.length === 0 && bytesOf(spki, algorithm).equals(RSA_ENCRYPTION)) {
    const content = contentOf(spki, bits);
    if (content[0] === 0) return createPublicKey({ key: content.subarray(1), format: 'der', type: 'pkcs1' });
  }
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

function rsaPublicKey(spki: Buffer): { key: KeyObject; keyBits: number } {
  let key: KeyObject;
  try {
    key = importPublicKey(spki);
  } catch (error) {
    throw new HostError('csr-malformed', 'The public key inside the CSR could not be read.', { cause: error });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new HostError('csr-weak-key', `The CSR carries a ${key.asymmetricKeyType ?? 'unknown'} key; sonarhost signs RSA keys of at least ${MIN_RSA_BITS} bits, as the Flipper SDKs generate.`);
  }
  return { key, keyBits: key.asymmetricKeyDetails?.modulusLength ?? 0 };
}

/** The values of every CN in a Name (SEQUENCE OF SET OF { type, value }); undefined for one that is not text. */
function commonNames(der: Buffer): Array<string | undefined> {
  const name = readRoot(der, TAG.sequence);
  const values: Array<string | undefined> = [];
  for (const rdn of childrenOf(der, name)) {
    for (const attribute of childrenOf(der, expectTag(rdn, TAG.set, 'a relative distinguished name'))) {
      const [type, value, ...rest] = childrenOf(der, expectTag(attribute, TAG.sequence, 'an attribute'));
      if (!bytesOf(der, expectTag(type, TAG.oid, 'an attribute type')).equals(COMMON_NAME)) continue;
      if (value === undefined || rest.length > 0) throw new DerError('a CN attribute must hold one value');
      values.push(decodeText(value.tag, contentOf(der, value)));
    }
  }
  return values;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(tag: number, bytes: Buffer): string | undefined {
  try {
    if (tag === TAG.utf8String) return UTF8.decode(bytes);
    if (tag === TAG.printableString || tag === TAG.ia5String || tag === TAG.teletexString) return bytes.toString('latin1');
    if (tag === TAG.bmpString && bytes.length % 2 === 0) return Buffer.from(bytes).swap16().toString('utf16le');
  } catch {
    return undefined;
  }
  return undefined;
}

function commonName(subjectDer: Buffer): string {
  let names: Array<string | undefined>;
  try {
    names = commonNames(subjectDer);
  } catch (error) {
    throw new HostError('csr-malformed', 'The subject of the CSR could not be decoded.', { cause: error });
  }
  if (names.length !== 1) {
    throw new HostError('csr-bad-common-name', `The CSR subject must hold exactly one CN with the app id; it holds ${names.length}.`);
  }
  const appId = names[0];
  if (appId === undefined || !APP_ID_PATTERN.test(appId)) {
    throw new HostError('csr-bad-common-name', `Disallowed app id in the CSR's CN: ${JSON.stringify(appId ?? '(not a text value)')}. Only letters, digits, '_', '.' and '-' are allowed.`);
  }
  return appId;
}

/** The subject the Flipper SDKs put in their CSRs, in their order. */
export function sdkCsrSubject(appId: string): string {
  return `C=US, ST=CA, L=Menlo Park, O=Flipper, CN=${appId}`;
}

/** Creates a CSR as the SDKs do (SHA-256, RSA). Used by the client SDK and tests. */
export async function createCsr(appId: string, keys: CryptoKeyPair): Promise<string> {
  const x509 = await loadX509();
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
  if (commonNameCache.has(pem)) return commonNameCache.get(pem);
  const parts = uncheckedCsrParts(pem);
  let name: string | undefined;
  try {
    const names = parts ? commonNames(parts.subjectDer) : [];
    name = names.length === 1 ? names[0] : undefined;
  } catch {
    name = undefined;
  }
  commonNameCache.set(pem, name);
  if (commonNameCache.size > CACHE_SIZE) commonNameCache.delete(commonNameCache.keys().next().value!);
  return name;
}

/** The SubjectPublicKeyInfo (DER) of a CSR without checking its signature, or undefined when it is not a readable CSR. */
export function csrPublicKeyDer(pem: string): Buffer | undefined {
  return uncheckedCsrParts(pem)?.publicKeyDer;
}

/** The parts of a PEM CSR, its signature unchecked; undefined when it is not a readable CSR. */
function uncheckedCsrParts(pem: string): CsrParts | undefined {
  try {
    const normalized = normalizeCsr(pem);
    return CSR_PEM.test(normalized) ? csrParts(pemBody(normalized)) : undefined;
  } catch {
    return undefined;
  }
}

/** CNs by CSR text: the secure port reads the same CSR on every reconnect of an app. */
const commonNameCache = new Map<string, string | undefined>();
