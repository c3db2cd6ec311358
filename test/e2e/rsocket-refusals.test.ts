import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { RSA_SIGNING, exportPrivateKeyPem, generateRsaKeyPair, importRsaPrivateKeyPem } from '../../src/core/x509/webcrypto.js';
import { x509 } from '../../src/core/x509/peculiar-x509.js';
import { ConnectionGate } from '../../src/core/connection-gate.js';
import { FileCertificateStore } from '../../src/plugins/file-certificate-store/file-certificate-store.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { ManualClock, MemoryLogger, testConfig } from '../helpers/fakes.js';
import { SETUP, rawExchange, rawSecureAttempt } from '../helpers/raw-rsocket.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost } from '../helpers/test-host.js';

describe('what the RSocket servers refuse, while they keep serving a connected app', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let bystander: FlipperClient;
  let keys: CryptoKeyPair;
  let keyPem: string;

  const storeAt = async (certDir: string, clock = new ManualClock()) => {
    const store = new FileCertificateStore(testConfig({ certDir }), clock, new MemoryLogger());
    await store.prepare();
    return store;
  };
  const material = async (store: FileCertificateStore, appId = 'com.example.raw') => ({
    key: keyPem,
    cert: (await store.signCsr(await createCsr(appId, keys))).certificatePem,
    ca: (await storeAt(host.config.certDir)).caCertificatePem(),
  });
  const secureSetup = async (appId = 'com.example.raw') => SETUP({ csr: await createCsr(appId, keys), csr_path: '/nowhere/' });

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir);
    keys = await generateRsaKeyPair();
    keyPem = await exportPrivateKeyPem(keys.privateKey);
    bystander = new FlipperClient({
      appId: 'com.example.bystander', appName: 'Bystander', os: 'Linux', device: 'box',
      stateDir: join(dir, 'bystander', 'sonar'), host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin()], reconnectMs: 50,
    });
    bystander.start();
    await eventually(() => onlyClient(host.registry), 'the bystander to connect');
  });
  after(async () => {
    // Everything above must not have disturbed the app that was connected all along.
    const session = onlyClient(host.registry);
    assert.ok(session, 'the bystander is still the one registered client');
    assert.deepEqual(await session.call('demo', 'echo', 'still here'), 'still here');
    await bystander.stop();
    await host.stop();
    await cleanup();
  });

  describe('on the secure port', () => {
    it('accepts a certificate this host issued (the control case)', async () => {
      const outcome = await rawSecureAttempt(host.ports.secure, await material(await storeAt(host.config.certDir)), await secureSetup());
      assert.deepEqual(outcome, { accepted: true, firstRequest: JSON.stringify({ id: 0, method: 'getPlugins' }) });
    });

    it('refuses a client certificate from another CA', async () => {
      const other = await makeTempDir();
      try {
        const outcome = await rawSecureAttempt(host.ports.secure, await material(await storeAt(other.path)), await secureSetup());
        assert.equal(outcome.accepted, false);
      } finally {
        await other.cleanup();
      }
    });

    it('refuses a connection without a client certificate', async () => {
      const outcome = await rawSecureAttempt(host.ports.secure, { ca: (await storeAt(host.config.certDir)).caCertificatePem() }, await secureSetup());
      assert.equal(outcome.accepted, false);
    });

    it('refuses an expired client certificate', async () => {
      const past = new ManualClock();
      past.advanceDays(-400);
      const outcome = await rawSecureAttempt(host.ports.secure, await material(await storeAt(host.config.certDir, past)), await secureSetup());
      assert.equal(outcome.accepted, false);
    });

    it('refuses a certificate that is not yet valid', async () => {
      const future = new ManualClock();
      future.advanceDays(3);
      const outcome = await rawSecureAttempt(host.ports.secure, await material(await storeAt(host.config.certDir, future)), await secureSetup());
      assert.equal(outcome.accepted, false);
    });

    it('refuses a self-signed client certificate', async () => {
      const selfSigned = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: '01', name: 'CN=com.example.raw', keys, signingAlgorithm: RSA_SIGNING,
        notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000),
        extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
      });
      const outcome = await rawSecureAttempt(host.ports.secure, { key: keyPem, cert: selfSigned.toString('pem'), ca: (await storeAt(host.config.certDir)).caCertificatePem() }, await secureSetup());
      assert.equal(outcome.accepted, false);
    });

    it('refuses a certificate from our CA without the clientAuth purpose', async () => {
      const caKeys = await importRsaPrivateKeyPem(await readFile(join(host.config.certDir, 'ca.key'), 'utf8'));
      const caCert = new x509.X509Certificate(await readFile(join(host.config.certDir, 'ca.crt'), 'utf8'));
      const serverOnly = await x509.X509CertificateGenerator.create({
        serialNumber: '7f01', subject: 'CN=com.example.raw', issuer: caCert.subjectName, publicKey: keys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: RSA_SIGNING,
        notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000),
        extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]), await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey)],
      });
      const outcome = await rawSecureAttempt(host.ports.secure, { key: keyPem, cert: serverOnly.toString('pem'), ca: caCert.toString('pem') }, await secureSetup());
      assert.equal(outcome.accepted, false);
    });

    it('refuses a certificate issued by a CA that was rotated away', async () => {
      const copy = await makeTempDir();
      try {
        // The same folder as it was before a rotation: same subject, other key.
        const before = await storeAt(copy.path);
        const old = await material(before);
        const outcome = await rawSecureAttempt(host.ports.secure, { ...old, ca: (await storeAt(host.config.certDir)).caCertificatePem() }, await secureSetup());
        assert.equal(outcome.accepted, false);
      } finally {
        await copy.cleanup();
      }
    });

    it('counted every refusal and logged them once for this source', async () => {
      const gate = host.container.get(ConnectionGate);
      const tls = [...gate.refusalCounts.entries()].filter(([reason]) => reason.startsWith('TLS:')).reduce((n, [, c]) => n + c, 0);
      assert.ok(tls >= 5, `TLS refusals counted: ${tls}`);
      assert.equal(host.logger.records.filter((r) => r.message.startsWith('refused') && r.message.includes('connection attempt') && r.fields.source === '127.0.0.1').length, 1);
    });

    it('refuses a certificate issued to app A that claims to be app B', async () => {
      const outcome = await rawSecureAttempt(host.ports.secure, await material(await storeAt(host.config.certDir), 'com.example.a'), await secureSetup('com.example.b'));
      assert.equal(outcome.accepted, false);
      assert.match(outcome.error, /issued to "com\.example\.a" but the connection names app "com\.example\.b"/);
      assert.ok(host.logger.messages('warn').includes('refused a secure connection whose certificate belongs to another app'));
    });

    it('rejects a SETUP that is not JSON', async () => {
      const outcome = await rawSecureAttempt(host.ports.secure, await material(await storeAt(host.config.certDir)), 'not json');
      assert.equal(outcome.accepted, false);
      assert.match(outcome.error, /secure SETUP data is not valid JSON/);
    });
  });

  describe('on the certificate exchange port', () => {
    const request = (csr: string, destination: string, extra: Record<string, unknown> = {}) => JSON.stringify({ method: 'signCertificate', csr, destination, medium: 1, ...extra });

    it('refuses a desktop destination whose app.csr does not match, writing nothing', async () => {
      const folder = join(dir, 'victim', 'sonar');
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'app.csr'), await createCsr('com.example.victim', await generateRsaKeyPair()));
      await assert.rejects(rawExchange(host.ports.insecure, SETUP(), request(await createCsr('com.example.raw', keys), folder + '/')), /app\.csr in .* differs from the CSR that was sent/);
      assert.deepEqual(await readdir(folder), ['app.csr']);
    });

    it('refuses a destination that does not exist or is relative', async () => {
      const csr = await createCsr('com.example.raw', keys);
      await assert.rejects(rawExchange(host.ports.insecure, SETUP(), request(csr, join(dir, 'nope/'))), /not an existing folder on this computer/);
      await assert.rejects(rawExchange(host.ports.insecure, SETUP(), request(csr, 'relative/sonar/')), /not an absolute path/);
    });

    const cases: Array<[string, () => Promise<[string, string]>, RegExp]> = [
      ['a SETUP that is not JSON', async () => ['{oops', request('x', '/tmp/')], /Application rejected setup, reason: The certificate exchange SETUP data is not valid JSON/],
      ['a SETUP without app', async () => [JSON.stringify({ os: 'Linux', device: 'd' }), request('x', '/tmp/')], /lacks "app"/],
      ['a request that is not JSON', async () => [SETUP(), '{{{'], /The signCertificate request is not valid JSON/],
      ['an unknown method', async () => [SETUP(), JSON.stringify({ method: 'hello' })], /Unknown method "hello" on the certificate exchange port/],
      ['a request without CSR', async () => [SETUP(), JSON.stringify({ method: 'signCertificate', destination: '/tmp/' })], /The CSR must be a PEM text/],
      ['a CSR that is not PEM', async () => [SETUP(), request('hello', '/tmp/')], /not a PEM certificate request/],
      ['medium 2 (WWW)', async () => [SETUP(), request(await createCsr('com.example.raw', keys), '/tmp/', { medium: 2 })], /medium 2 \(WWW\) is not supported/],
      ['an unknown medium', async () => [SETUP({ medium: 9 }), request('x', '/tmp/')], /Unknown certificate exchange medium 9/],
      ['an OS no transport serves', async () => [SETUP({ os: 'Plan9' }), request(await createCsr('com.example.raw', keys), '/tmp/')], /No device transport serves os "Plan9" .*configured: desktop/],
      ['a destination without a CSR owner', async () => [SETUP(), request(await createCsr('com.example.raw', keys), '/tmp/')], /holds no readable app\.csr/],
    ];
    for (const [name, make, expected] of cases) {
      it(`answers ${name} with a readable error`, async () => {
        const [setup, data] = await make();
        await assert.rejects(rawExchange(host.ports.insecure, setup, data), (error: Error) => {
          assert.match(error.message, expected);
          assert.doesNotMatch(error.message, /^not implemented$/);
          return true;
        });
      });
    }
  });
});
