import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { HostError } from '../../../src/core/host-error.js';
import { FileCertificateStore } from '../../../src/plugins/file-certificate-store/file-certificate-store.js';
import { ManualClock, MemoryLogger, testConfig } from '../../helpers/fakes.js';
import { openssl, opensslCsr, opensslTopFields } from '../../helpers/openssl.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { versionOneCsr } from '../../helpers/csr-fixtures.js';

const APP_SUBJECT = '/C=US/ST=CA/L=Menlo Park/O=Flipper/CN=com.example.app';

describe('FileCertificateStore', () => {
  let dir: string;
  let work: string;
  let cleanups: Array<() => Promise<void>>;
  let clock: ManualClock;
  let logger: MemoryLogger;

  const newStore = (certDir = dir) => new FileCertificateStore(testConfig({ certDir }), clock, logger);
  const sha = async (name: string) => createHash('sha256').update(await readFile(join(dir, name))).digest('hex');
  /** The certificate holds the CSR's subject and public key byte for byte, and openssl's issuer is the CA's subject. */
  const assertCarriesCsr = async (certificate: string, csr: string) => {
    const [version, subject, publicKey] = await opensslTopFields(csr, 'req', work);
    const [, , , issuer, , certSubject, certKey] = await opensslTopFields(certificate, 'x509', work);
    assert.equal(version![0], 0x02, 'CSR fields located');
    assert.equal(certSubject!.toString('hex'), subject!.toString('hex'), 'subject bytes as in the CSR');
    assert.equal(certKey!.toString('hex'), publicKey!.toString('hex'), 'SubjectPublicKeyInfo bytes as in the CSR');
    assert.equal(issuer!.toString('hex'), (await opensslTopFields(join(dir, 'ca.crt'), 'x509', work))[5]!.toString('hex'), 'issuer = CA subject');
  };

  beforeEach(async () => {
    const a = await makeTempDir();
    const b = await makeTempDir();
    dir = join(a.path, 'certs'); // does not exist yet: the store must create it
    work = b.path;
    cleanups = [a.cleanup, b.cleanup];
    clock = new ManualClock();
    logger = new MemoryLogger();
  });
  afterEach(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  describe('first start', () => {
    it('creates a CA and server certificate that openssl verifies, with private modes', async () => {
      const report = await newStore().prepare();

      assert.equal(report.location, dir);
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
      assert.equal((await stat(join(dir, 'ca.key'))).mode & 0o777, 0o600);
      assert.equal((await stat(join(dir, 'server.key'))).mode & 0o777, 0o600);
      assert.deepEqual((await readdir(dir)).sort(), ['ca.crt', 'ca.key', 'server.crt', 'server.key'], 'no serial counter, no lock left behind');

      await openssl(['verify', '-x509_strict', '-CAfile', 'ca.crt', 'ca.crt'], { cwd: dir });
      const server = await openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', 'ca.crt', 'server.crt'], { cwd: dir });
      assert.match(server.stdout, /server\.crt: OK/);

      const caText = (await openssl(['x509', '-in', 'ca.crt', '-noout', '-text', '-nameopt', 'RFC2253'], { cwd: dir })).stdout;
      assert.match(caText, /Subject: CN=SonarCA,O=Sonar,L=Menlo Park,ST=CA,C=US/);
      assert.match(caText, /Public-Key: \(2048 bit\)/);
      assert.match(caText, /Signature Algorithm: sha256WithRSAEncryption/);
      assert.match(caText, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
      assert.match(caText, /X509v3 Key Usage: critical\s+.*Certificate Sign, CRL Sign/);

      const serverText = (await openssl(['x509', '-in', 'server.crt', '-noout', '-text', '-nameopt', 'RFC2253'], { cwd: dir })).stdout;
      assert.match(serverText, /Subject: CN=localhost,O=Sonar/);
      assert.match(serverText, /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
      assert.match(serverText, /X509v3 Extended Key Usage:\s+TLS Web Server Authentication/);
      assert.match(serverText, /X509v3 Authority Key Identifier/);

      assert.ok(report.renewals.some((r) => r.includes('created a new certificate authority')));
      assert.ok(logger.messages('info').some((m) => m.includes('issued a new server certificate: server.key is missing')));
    });

    it('reuses everything on the second start', async () => {
      await newStore().prepare();
      const before = await Promise.all(['ca.key', 'ca.crt', 'server.key', 'server.crt'].map(sha));
      const report = await newStore().prepare();
      assert.deepEqual(report.renewals, []);
      assert.deepEqual(await Promise.all(['ca.key', 'ca.crt', 'server.key', 'server.crt'].map(sha)), before);
    });

    it('narrows an existing folder to mode 0700', async () => {
      const { mkdir, chmod } = await import('node:fs/promises');
      await mkdir(dir, { mode: 0o755 });
      await chmod(dir, 0o755);
      await newStore().prepare();
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
    });

    it('reports an unusable folder with the path and how to fix it', async () => {
      await writeFile(join(work, 'a-file'), 'x');
      const store = newStore(join(work, 'a-file', 'certs'));
      await assert.rejects(store.prepare(), (error: unknown) => {
        assert.ok(HostError.is(error, 'cert-dir-unwritable'));
        assert.match(error.message, /a-file\/certs/);
        assert.match(error.message, /--cert-dir/);
        return true;
      });
    });
  });

  describe('signing', () => {
    it('signs a CSR made by openssl req, for client authentication, back-dated, verifiable by openssl', async () => {
      const store = newStore();
      await store.prepare();
      const { csr } = await opensslCsr(work, APP_SUBJECT);
      const issued = await store.signCsr(csr);

      assert.equal(issued.appId, 'com.example.app');
      await writeFile(join(work, 'device.crt'), issued.certificatePem);
      const verified = await openssl(['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', join(dir, 'ca.crt'), 'device.crt'], { cwd: work });
      assert.match(verified.stdout, /device\.crt: OK/);
      const text = (await openssl(['x509', '-in', 'device.crt', '-noout', '-text', '-nameopt', 'RFC2253'], { cwd: work })).stdout;
      assert.match(text, /Subject: CN=com\.example\.app,O=Flipper,L=Menlo Park,ST=CA,C=US/);
      assert.match(text, /TLS Web Client Authentication/);
      const backdate = clock.now().getTime() - issued.notBefore.getTime();
      assert.ok(backdate >= 23 * 3600_000, `notBefore is back-dated by ${backdate} ms`);
      await assertCarriesCsr('device.crt', 'app.csr');
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
      assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);

      // The key identifiers are the ones openssl computes: SKI from the app's key, AKI = the CA's SKI.
      await writeFile(join(work, 'ski.ext'), 'subjectKeyIdentifier=hash\n');
      await openssl(['x509', '-req', '-in', 'app.csr', '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-set_serial', '7', '-extfile', 'ski.ext', '-out', 'openssl.crt'], { cwd: work });
      const ski = async (file: string, cwd = work) => (await openssl(['x509', '-in', file, '-noout', '-ext', 'subjectKeyIdentifier'], { cwd })).stdout.split('\n')[1]!.trim();
      assert.equal(await ski('device.crt'), await ski('openssl.crt'));
      assert.match(text, new RegExp(`Authority Key Identifier:\\s+(keyid:)?${await ski('ca.crt', dir)}`));

      // Validity: back-dated a day, a year long but never past the CA certificate, as openssl reads it.
      const dates = (await openssl(['x509', '-in', 'device.crt', '-noout', '-startdate', '-enddate'], { cwd: work })).stdout;
      const [start, end] = [/notBefore=(.*)/, /notAfter=(.*)/].map((r) => new Date(r.exec(dates)![1]!));
      assert.equal(start!.getTime(), issued.notBefore.getTime());
      assert.equal(end!.getTime(), issued.notAfter.getTime());
      assert.equal(Math.floor((clock.now().getTime() - 86_400_000) / 1000) * 1000, issued.notBefore.getTime());
      const caEnd = new Date(/notAfter=(.*)/.exec((await openssl(['x509', '-in', 'ca.crt', '-noout', '-enddate'], { cwd: dir })).stdout)![1]!);
      assert.ok(end! <= caEnd && caEnd.getTime() - end!.getTime() < 2 * 86_400_000, `notAfter ${end!.toISOString()}, CA until ${caEnd.toISOString()}`);
    });

    it('signs the SDKs\' non-standard version-1 CSR', async () => {
      const store = newStore();
      await store.prepare();
      const { pem } = await versionOneCsr('com.facebook.flipper.sample');
      await writeFile(join(work, 'v1.csr'), pem);
      assert.match((await openssl(['req', '-in', 'v1.csr', '-noout', '-text'], { cwd: work })).stdout, /Version: (Unknown \(1\)|2 \(0x1\))/);

      const issued = await store.signCsr(pem);
      assert.equal(issued.appId, 'com.facebook.flipper.sample');
      await writeFile(join(work, 'v1.crt'), issued.certificatePem);
      await openssl(['verify', '-CAfile', join(dir, 'ca.crt'), 'v1.crt'], { cwd: work });
      await assertCarriesCsr('v1.crt', 'v1.csr');
    });

    it('gives every certificate a random 16-byte serial, positive and DER-minimal, and writes nothing per certificate', async () => {
      const store = newStore();
      await store.prepare();
      const folder = await Promise.all((await readdir(dir)).map(async (name) => [name, (await stat(join(dir, name))).mtimeMs]));
      const { csr } = await opensslCsr(work, APP_SUBJECT);
      const issued = await Promise.all(Array.from({ length: 40 }, () => store.signCsr(csr)));
      const restarted = newStore();
      await restarted.prepare();
      issued.push(await restarted.signCsr(csr));
      assert.equal(new Set(issued.map((c) => c.serialNumber)).size, issued.length, 'serials are unique');
      for (const [i, certificate] of issued.slice(0, 3).entries()) {
        await writeFile(join(work, `serial${i}.crt`), certificate.certificatePem);
        const serialField = (await opensslTopFields(`serial${i}.crt`, 'x509', work))[1]!;
        // INTEGER, 16 content bytes, the first in 0x40-0x7f: positive, no padding byte, 126 random bits.
        assert.equal(serialField[0], 0x02);
        assert.equal(serialField[1], 16);
        assert.ok(serialField[2]! >= 0x40 && serialField[2]! <= 0x7f, serialField.toString('hex'));
        assert.equal((await openssl(['x509', '-in', `serial${i}.crt`, '-noout', '-serial'], { cwd: work })).stdout.trim(), `serial=${certificate.serialNumber}`);
      }
      const after = await Promise.all((await readdir(dir)).map(async (name) => [name, (await stat(join(dir, name))).mtimeMs]));
      assert.deepEqual(after, folder, 'signing wrote nothing into the certificate folder');
    });

    const refusals: Array<[string, () => Promise<string>, string, RegExp]> = [
      ['not PEM at all', async () => 'hello, I am not a CSR', 'csr-not-pem', /not a PEM certificate request/],
      ['empty', async () => '  \r\n ', 'csr-not-pem', /empty CSR/],
      ['a certificate instead of a CSR', async () => readFile(join(dir, 'ca.crt'), 'utf8'), 'csr-not-pem', /not a PEM certificate request/],
      ['a CSR header around garbage', async () => '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----', 'csr-malformed', /could not be decoded/],
      ['a tampered CSR', async () => tamper((await opensslCsr(work, APP_SUBJECT)).csr), 'csr-bad-signature', /does not match its content/],
      ['a CN with shell characters', async () => (await opensslCsr(work, '/O=Flipper/CN=com.evil;reboot')).csr, 'csr-bad-common-name', /Disallowed app id/],
      ['a CSR without CN', async () => (await opensslCsr(work, '/O=Flipper/OU=no-cn')).csr, 'csr-bad-common-name', /exactly one CN/],
      ['a 1024-bit key', async () => (await opensslCsr(work, APP_SUBJECT, 1024)).csr, 'csr-weak-key', /1024-bit RSA key/],
      ['an oversized input', async () => (await opensslCsr(work, APP_SUBJECT)).csr + '\n'.repeat(17 * 1024), 'csr-too-large', /limit is 16384 bytes/],
    ];
    for (const [name, make, kind, message] of refusals) {
      it(`refuses ${name} with ${kind}`, async () => {
        const store = newStore();
        await store.prepare();
        const input = await make();
        await assert.rejects(store.signCsr(input), (error: unknown) => {
          assert.ok(HostError.is(error, kind as never), `expected ${kind}, got ${String(error)}`);
          assert.match((error as Error).message, message);
          return true;
        });
      });
    }
  });

  describe('an existing Flipper (openssl-made) folder', () => {
    it('is reused as it is, PKCS#1 CA key included, and its server.srl is left as it is', async () => {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(dir, { mode: 0o700 });
      await openssl(['genrsa', '-traditional', '-out', 'ca.key', '2048'], { cwd: dir });
      await openssl(['req', '-new', '-x509', '-subj', '/C=US/ST=CA/L=Menlo Park/O=Sonar/CN=SonarCA', '-key', 'ca.key', '-out', 'ca.crt'], { cwd: dir });
      await openssl(['genrsa', '-out', 'server.key', '2048'], { cwd: dir });
      await openssl(['req', '-new', '-key', 'server.key', '-out', 'server.csr', '-subj', '/C=US/ST=CA/L=Menlo Park/O=Sonar/CN=localhost'], { cwd: dir });
      await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-CAserial', 'server.srl', '-out', 'server.crt'], { cwd: dir });
      assert.match(await readFile(join(dir, 'ca.key'), 'utf8'), /BEGIN RSA PRIVATE KEY/);
      const files = ['ca.key', 'ca.crt', 'server.key', 'server.crt'];
      const before = await Promise.all(files.map(sha));
      const srl = await readFile(join(dir, 'server.srl'), 'utf8');

      const store = newStore();
      const report = await store.prepare();
      assert.deepEqual(report.renewals, []);
      assert.deepEqual(await Promise.all(files.map(sha)), before);

      const issued = await store.signCsr((await opensslCsr(work, APP_SUBJECT)).csr);
      assert.equal(await readFile(join(dir, 'server.srl'), 'utf8'), srl, 'upstream\'s counter is not advanced');
      const distance = BigInt('0x' + issued.serialNumber) - BigInt('0x' + srl.trim());
      assert.ok(distance > 2n ** 32n || distance < -(2n ** 32n), 'far from what the counter issued or will issue');
      await writeFile(join(work, 'device.crt'), issued.certificatePem);
      await openssl(['verify', '-CAfile', join(dir, 'ca.crt'), 'device.crt'], { cwd: work });
    });
  });

  describe('renewal rules', () => {
    it('renews a missing server certificate and keeps the CA', async () => {
      await newStore().prepare();
      const ca = await sha('ca.crt');
      await unlink(join(dir, 'server.crt'));
      const report = await newStore().prepare();
      assert.deepEqual(report.renewals, ['issued a new server certificate: server.crt is missing']);
      assert.equal(await sha('ca.crt'), ca);
      await openssl(['verify', '-CAfile', 'ca.crt', 'server.crt'], { cwd: dir });
    });

    it('renews a server certificate that the current CA did not sign', async () => {
      const other = await makeTempDir();
      cleanups.push(other.cleanup);
      await newStore().prepare();
      await newStore(other.path).prepare();
      for (const name of ['server.key', 'server.crt']) await writeFile(join(dir, name), await readFile(join(other.path, name)));
      const report = await newStore().prepare();
      assert.deepEqual(report.renewals, ['issued a new server certificate: server.crt is not signed by the current CA']);
      await openssl(['verify', '-CAfile', 'ca.crt', 'server.crt'], { cwd: dir });
    });

    it('renews a server certificate that expires within 24 hours', async () => {
      await newStore().prepare();
      const caKey = await sha('ca.key');
      clock.advanceDays(29.5);
      const report = await newStore().prepare();
      assert.match(report.renewals.at(-1)!, /issued a new server certificate: server\.crt expires within 24 hours/);
      assert.equal(await sha('ca.key'), caKey);
    });

    it('leaves a server certificate alone with more than a day to go', async () => {
      await newStore().prepare();
      clock.advanceDays(20);
      assert.deepEqual((await newStore().prepare()).renewals, []);
      clock.advanceDays(8.5);
      assert.ok(!(await newStore().prepare()).renewals.some((r) => r.includes('server certificate')));
    });

    it('re-issues the CA certificate with its key after 25 days, for the WebSocket-era Android SDK', async () => {
      const store = newStore();
      await store.prepare();
      const issued = await store.signCsr((await opensslCsr(work, APP_SUBJECT)).csr);
      await writeFile(join(work, 'device.crt'), issued.certificatePem);
      const caKey = await sha('ca.key');
      clock.advanceDays(24);
      assert.deepEqual((await newStore().prepare()).renewals, []);
      clock.advanceDays(2);
      const report = await newStore().prepare();
      assert.deepEqual(report.renewals.length, 1);
      assert.match(report.renewals[0]!, /re-issued the CA certificate: it was issued more than 25 days ago/);
      assert.equal(await sha('ca.key'), caKey);
      assert.ok(clock.now().getTime() - report.ca.notBefore.getTime() < 2 * 3600_000);
      await openssl(['verify', '-attime', String(Math.floor(clock.now().getTime() / 1000)), '-CAfile', join(dir, 'ca.crt'), 'device.crt'], { cwd: work });
    });

    it('stops with the rotation advice when ca.key is missing beside ca.crt, changing nothing (doctor says so too)', async () => {
      await newStore().prepare();
      const files = ['ca.crt', 'server.key', 'server.crt'];
      const before = await Promise.all(files.map(sha));
      await unlink(join(dir, 'ca.key'));
      await assert.rejects(newStore().prepare(), (error: unknown) => {
        assert.ok(HostError.is(error, 'ca-unreadable'), String(error));
        assert.match((error as Error).message, /is damaged: ca\.key is missing beside ca\.crt\. sonarhost never replaces a CA silently.*--rotate-ca --yes/);
        return true;
      });
      assert.deepEqual(await Promise.all(files.map(sha)), before);
      assert.deepEqual((await readdir(dir)).sort(), ['ca.crt', 'server.crt', 'server.key'], 'no new CA, nothing archived');
      const doctor = (await newStore().check()).find((c) => c.name === 'CA key');
      assert.equal(doctor?.status, 'fail');
      assert.match(doctor?.fix ?? '', /--rotate-ca --yes/);
    });

    it('renews an expiring CA certificate with its existing key, so issued device certificates stay valid', async () => {
      const store = newStore();
      await store.prepare();
      const issued = await store.signCsr((await opensslCsr(work, APP_SUBJECT)).csr);
      await writeFile(join(work, 'device.crt'), issued.certificatePem);
      const caKey = await sha('ca.key');
      const caCert = await sha('ca.crt');

      clock.advanceDays(364.5);
      const report = await newStore().prepare();
      assert.match(report.renewals[0]!, /re-issued the CA certificate: the CA certificate expires within 24 hours/);
      assert.equal(await sha('ca.key'), caKey);
      assert.notEqual(await sha('ca.crt'), caCert);
      // The device certificate issued before the renewal still chains to the renewed CA certificate.
      await openssl(['verify', '-attime', String(Math.floor(clock.now().getTime() / 1000)), '-CAfile', join(dir, 'ca.crt'), 'device.crt'], { cwd: work });
    });

    it('re-issues an expired CA certificate with its existing key', async () => {
      await newStore().prepare();
      const caKey = await sha('ca.key');
      clock.advanceDays(400);
      const report = await newStore().prepare();
      assert.match(report.renewals[0]!, /the CA certificate expired/);
      assert.equal(await sha('ca.key'), caKey);
    });

    it('refuses to start with a corrupt ca.key, says how to rotate, and leaves the file untouched', async () => {
      await newStore().prepare();
      await writeFile(join(dir, 'ca.key'), '-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n');
      const files = ['ca.key', 'ca.crt', 'server.key', 'server.crt'];
      const before = await Promise.all(files.map(sha));
      await assert.rejects(newStore().prepare(), (error: unknown) => {
        assert.ok(HostError.is(error, 'ca-unreadable'));
        assert.match(error.message, /ca\.key is not a readable RSA private key/);
        assert.match(error.message, /sonarhost certs --rotate-ca --yes/);
        return true;
      });
      assert.deepEqual(await Promise.all(files.map(sha)), before);
    });

    it('refuses a ca.crt that does not belong to ca.key', async () => {
      const other = await makeTempDir();
      cleanups.push(other.cleanup);
      await newStore().prepare();
      await newStore(other.path).prepare();
      await writeFile(join(dir, 'ca.crt'), await readFile(join(other.path, 'ca.crt')));
      await assert.rejects(newStore().prepare(), /their public keys differ/);
    });

    it('rolls an interrupted key-and-certificate update forward', async () => {
      const store = newStore();
      await store.prepare();
      const old = { key: await readFile(join(dir, 'server.key')), crt: await readFile(join(dir, 'server.crt')) };
      await store.renewServerCertificate('test');
      const renewed = { key: await readFile(join(dir, 'server.key')), crt: await readFile(join(dir, 'server.crt')) };
      // Simulate a crash after both ".next" files were written but before they were renamed into place.
      await writeFile(join(dir, 'server.key'), old.key);
      await writeFile(join(dir, 'server.crt'), old.crt);
      await writeFile(join(dir, 'server.key.next'), renewed.key);
      await writeFile(join(dir, 'server.crt.next'), renewed.crt);

      const report = await newStore().prepare();
      assert.deepEqual(report.renewals, [`${join(dir, 'server.crt')}: completed an interrupted key and certificate update`]);
      assert.deepEqual(await readFile(join(dir, 'server.crt')), renewed.crt);
      assert.deepEqual(await readFile(join(dir, 'server.key')), renewed.key);
      assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.next')), []);
    });

    it('drops a half-written update whose certificate never reached the disk', async () => {
      await newStore().prepare();
      const crt = await sha('server.crt');
      await writeFile(join(dir, 'server.key.next'), 'half');
      const report = await newStore().prepare();
      assert.match(report.renewals[0]!, /discarded a key whose certificate was never written/);
      assert.equal(await sha('server.crt'), crt);
    });
  });

  describe('deliberate operations', () => {
    it('rotates the CA on request, archiving the old files', async () => {
      const store = newStore();
      const first = await store.prepare();
      await store.rotateCertificateAuthority('test');
      const after = await store.describe();
      assert.notEqual(after.ca.sha256Fingerprint, first.ca.sha256Fingerprint);
      assert.notEqual(after.server.sha256Fingerprint, first.server.sha256Fingerprint);
      const [archived] = await readdir(join(dir, 'archive'));
      assert.deepEqual((await readdir(join(dir, 'archive', archived!))).sort(), ['ca.crt', 'ca.key', 'server.crt', 'server.key']);
      await openssl(['verify', '-CAfile', 'ca.crt', 'server.crt'], { cwd: dir });
    });

    it('renews the server certificate on request and keeps the CA', async () => {
      const store = newStore();
      const first = await store.prepare();
      await store.renewServerCertificate('test');
      const after = await store.describe();
      assert.equal(after.ca.sha256Fingerprint, first.ca.sha256Fingerprint);
      assert.notEqual(after.server.sha256Fingerprint, first.server.sha256Fingerprint);
      assert.equal(store.serverCredentials().cert, await readFile(join(dir, 'server.crt'), 'utf8'));
    });
  });
});

/** Changes one character of the subject inside the DER, keeping the PEM well formed. */
function tamper(pem: string): string {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(body, 'base64');
  const at = der.indexOf(Buffer.from('com.example.app'));
  if (at < 0) throw new Error('CN not found in CSR');
  der[at + 14] = 'q'.charCodeAt(0);
  const lines = der.toString('base64').match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines}\n-----END CERTIFICATE REQUEST-----\n`;
}
