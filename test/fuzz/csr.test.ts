import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { HostError } from '../../src/core/host-error.js';
import { DEFAULT_MAX_CSR_BYTES, type ParsedCsr, createCsr, parseCsr } from '../../src/core/x509/csr.js';
import { RSA_SIGNING, generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { x509 } from '../../src/core/x509/peculiar-x509.js';
import { versionOneCsr } from '../helpers/csr-fixtures.js';
import { derOf, derMutationArb, mutateDer, pemOf, randomDerArb } from '../helpers/fuzz-csr.js';
import { CrashWatch, checkProperty, fuzzParameters, within } from '../helpers/fuzz-harness.js';
import { chaosString } from '../helpers/fuzz-json.js';

const CSR_KINDS = new Set(['csr-too-large', 'csr-not-pem', 'csr-malformed', 'csr-bad-signature', 'csr-bad-common-name', 'csr-weak-key']);
/** No single parse may take longer (a hang or a pathological key is a failure). */
const PARSE_MS = 2_000;

type Outcome = { ok: true; parsed: ParsedCsr } | { ok: false; kind: string };

/** parseCsr must return or throw a HostError of a csr-* kind, and do either within PARSE_MS. */
async function parse(input: unknown, maxBytes?: number): Promise<Outcome> {
  try {
    return { ok: true, parsed: await within(parseCsr(input, maxBytes), PARSE_MS, 'parseCsr') };
  } catch (error) {
    assert.ok(HostError.is(error), `parseCsr threw something else than a HostError: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    assert.ok(CSR_KINDS.has(error.kind), `parseCsr threw a HostError of kind ${error.kind}`);
    assert.ok(error.message.length > 20, 'a refusal must say what to send instead');
    return { ok: false, kind: error.kind };
  }
}

const spki = async (request: x509.Pkcs10CertificateRequest) => Buffer.from(request.publicKey.rawData).toString('hex');

/**
 * Fuzzes parseCsr, the gate before anything is signed: any value, random strings, PEM of random bytes
 * and random DER trees, real CSRs (standard and the SDKs' version 1) mutated in their DER, and
 * well-signed CSRs with random subjects and keys. Every input parses or throws a HostError of a csr-*
 * kind within a bound; a mutation can never yield another app id or key.
 */
describe('fuzz: parseCsr', () => {
  // Nothing here may leave an exception or a rejection behind (parsing is async: a stray promise would).
  const watch = new CrashWatch();
  before(() => void watch.install());
  after(() => {
    try {
      watch.assertClean('parseCsr');
    } finally {
      watch.dispose();
    }
  });
  let rsa: CryptoKeyPair;
  let sdkCsr: string; // version 1, as the Flipper SDKs write it
  let standardCsr: string;

  before(async () => {
    rsa = await generateRsaKeyPair();
    standardCsr = await createCsr('com.example.fuzz', rsa);
    sdkCsr = (await versionOneCsr('com.example.sdk')).pem;
    // The control cases: both parse.
    assert.equal((await parse(standardCsr)).ok, true);
    assert.equal((await parse(sdkCsr)).ok, true);
  });

  it('random values of any type and random strings are refused with a csr-* HostError', async () => {
    const input = fc.oneof(
      fc.anything({ maxDepth: 2 }),
      chaosString,
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 200 }).map((s) => `-----BEGIN CERTIFICATE REQUEST-----\n${s}\n-----END CERTIFICATE REQUEST-----`),
      fc.base64String({ maxLength: 400 }).map((s) => `-----BEGIN CERTIFICATE REQUEST-----\n${s}\n-----END CERTIFICATE REQUEST-----`),
    );
    await checkProperty(
      fc.asyncProperty(input, async (value) => {
        const outcome = await parse(value);
        assert.equal(outcome.ok, false, 'random input parsed as a CSR');
      }),
      fuzzParameters(1_500),
    );
  });

  it('PEM wrapping of random bytes, with every label, line length and line ending, is refused with a csr-* HostError', async () => {
    const wrapped = fc.record({
      der: fc.oneof(fc.uint8Array({ maxLength: 600 }), randomDerArb),
      label: fc.constantFrom('CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST', 'CERTIFICATE', 'PRIVATE KEY', 'certificate request'),
      lineLength: fc.constantFrom(64, 76, 1, 10_000),
      crlf: fc.boolean(),
      padding: fc.constantFrom('', ' ', '\n', '\n\n', '\t', ' \r\n', '\u0000'),
      twice: fc.boolean(),
    });
    await checkProperty(
      fc.asyncProperty(wrapped, async ({ der, label, lineLength, crlf, padding, twice }) => {
        let pem = pemOf(der, label, lineLength);
        if (twice) pem = `${pem}\n${pem}`;
        if (crlf) pem = pem.replace(/\n/g, '\r\n');
        const outcome = await parse(padding + pem + padding);
        assert.equal(outcome.ok, false, 'random DER parsed as a CSR');
      }),
      fuzzParameters(800),
    );
  });

  it('real CSRs mutated in their DER either parse as the same app and key, or are refused with a csr-* HostError', async () => {
    const originals = [
      { pem: standardCsr, appId: 'com.example.fuzz' },
      { pem: sdkCsr, appId: 'com.example.sdk' },
    ];
    const kinds = new Map<string, number>();
    await checkProperty(
      fc.asyncProperty(fc.constantFrom(0, 1), fc.array(derMutationArb, { minLength: 1, maxLength: 4 }), async (which, mutations) => {
        const original = originals[which]!;
        const originalDer = derOf(original.pem);
        const mutated = mutateDer(originalDer, mutations);
        const outcome = await parse(pemOf(mutated));
        kinds.set(outcome.ok ? 'parsed' : outcome.kind, (kinds.get(outcome.ok ? 'parsed' : outcome.kind) ?? 0) + 1);
        if (outcome.ok) {
          // Whatever a mutation left acceptable, it can never change who the certificate is for.
          assert.equal(outcome.parsed.appId, original.appId, 'a mutated CSR parsed with another app id');
          assert.equal(outcome.parsed.publicKeyDer.toString('hex'), await spki(new x509.Pkcs10CertificateRequest(original.pem)), 'a mutated CSR parsed with another key');
        }
      }),
      fuzzParameters(1_200),
    );
    // The mutations reach every check, not only the PEM and DER ones.
    for (const kind of ['csr-malformed', 'csr-bad-signature']) assert.ok((kinds.get(kind) ?? 0) > 0, `no mutation reached ${kind}: ${JSON.stringify([...kinds])}`);
  });

  it('well-signed CSRs with random subjects are accepted exactly when they hold one CN that is a valid app id', async () => {
    const rdn = fc.oneof(
      fc.tuple(fc.constantFrom('CN'), fc.oneof(fc.stringMatching(/^[\w.-]{1,40}$/), chaosString.filter((s) => s.length > 0 && s.length < 200))),
      fc.tuple(fc.constantFrom('O', 'C', 'L', 'ST', 'OU', 'E', 'DC'), fc.stringMatching(/^[A-Za-z]{1,2}$/)),
    );
    await checkProperty(
      fc.asyncProperty(fc.array(rdn, { maxLength: 4 }), async (rdns) => {
        const name = rdns.map(([type, value]) => ({ [type]: [value] }));
        let pem: string;
        try {
          pem = (await x509.Pkcs10CertificateRequestGenerator.create({ name, keys: rsa, signingAlgorithm: RSA_SIGNING })).toString('pem');
        } catch {
          return; // a subject the generator itself cannot encode
        }
        const cns = rdns.filter(([type]) => type === 'CN').map(([, value]) => value);
        const outcome = await parse(pem);
        // The app id rule: letters, digits, '_', '.', '-'; at most 255 characters; not only dots ("." or ".." would name a parent folder).
        if (cns.length === 1 && /^(?!\.+$)[\w.-]{1,255}$/.test(cns[0]!)) {
          assert.ok(outcome.ok, `refused a valid CSR for ${JSON.stringify(cns[0])}: ${JSON.stringify(outcome)}`);
          assert.equal(outcome.parsed.appId, cns[0]);
        } else {
          assert.deepEqual(outcome, { ok: false, kind: 'csr-bad-common-name' }, `CNs ${JSON.stringify(cns)}`);
        }
      }),
      fuzzParameters(300),
    );
  });

  it('keys that are not RSA ≥ 2048 bits are refused as csr-weak-key; size limits hold at the byte', async () => {
    const ec = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const rsa1024 = await generateRsaKeyPair(1024);
    const weak = [
      (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=com.example.ec', keys: ec, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams })).toString('pem'),
      await createCsr('com.example.small', rsa1024),
    ];
    for (const pem of weak) assert.deepEqual(await parse(pem), { ok: false, kind: 'csr-weak-key' });
    await checkProperty(
      fc.asyncProperty(fc.integer({ min: -3, max: 3 }), fc.constantFrom('\n', ' ', '\r'), async (delta, filler) => {
        const limit = Buffer.byteLength(standardCsr) + delta;
        const outcome = await parse(standardCsr, limit);
        assert.equal(outcome.ok, delta >= 0, `limit ${limit} for a CSR of ${Buffer.byteLength(standardCsr)} bytes`);
        if (!outcome.ok) assert.equal(outcome.kind, 'csr-too-large');
        // Whitespace around the PEM counts towards the default limit, then is ignored.
        const padded = filler.repeat(DEFAULT_MAX_CSR_BYTES - Buffer.byteLength(standardCsr) + delta);
        const around = await parse(padded + standardCsr);
        assert.deepEqual(around.ok ? 'parsed' : around.kind, delta <= 0 ? 'parsed' : 'csr-too-large');
      }),
      fuzzParameters(40),
    );
  });
});
