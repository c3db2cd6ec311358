import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isForKey, isSignedBy, readCertificateFacts } from '../../src/core/x509/certificate-facts.js';
import { openssl } from '../helpers/openssl.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * The host reads its CA and server certificates with Node's X.509 and a few DER offsets (so a start
 * with certificates in place never loads @peculiar/x509): checked here against what openssl says of
 * certificates openssl made, as an existing Flipper folder holds them.
 */
describe('certificate facts, read without @peculiar/x509', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const files = (name: string) => ({ key: join(dir, `${name}.key`), crt: join(dir, `${name}.crt`) });

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    const ca = files('ca');
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', ca.key, '-out', ca.crt, '-days', '365', '-subj', '/C=US/ST=CA/L=Menlo Park/O=Sonar/CN=SonarCA', '-set_serial', '0x00d1e2f3']);
    const server = files('server');
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', server.key, '-out', join(dir, 'server.csr'), '-subj', '/C=US/ST=CA/L=Menlo Park/O=Sonar/CN=localhost']);
    await openssl(['x509', '-req', '-in', join(dir, 'server.csr'), '-CA', ca.crt, '-CAkey', ca.key, '-set_serial', '0x0102', '-days', '30', '-out', server.crt]);
    const other = files('other');
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', other.key, '-out', other.crt, '-days', '1', '-subj', '/C=US/ST=CA/L=Menlo Park/O=Sonar/CN=SonarCA']);
  });
  after(() => cleanup());

  it('has the subject, issuer, serial, dates, fingerprint and subject key id openssl prints', async () => {
    for (const name of ['ca', 'server']) {
      const pem = await readFile(files(name).crt, 'utf8');
      const facts = readCertificateFacts(pem);
      const printed = (await openssl(['x509', '-in', files(name).crt, '-noout', '-serial', '-subject', '-issuer', '-startdate', '-enddate', '-fingerprint', '-sha256', '-nameopt', 'sep_comma_plus_space', '-ext', 'subjectKeyIdentifier'])).stdout;
      const field = (label: string) => new RegExp(`^${label}=?\\s*(.*)$`, 'm').exec(printed)?.[1]?.trim();
      assert.equal(facts.serialNumber.replace(/^0+/, '').toUpperCase(), field('serial')!.replace(/^0+/, ''), `${name}: serial`);
      assert.equal(facts.subject, field('subject'), `${name}: subject`);
      assert.equal(facts.issuer, field('issuer'), `${name}: issuer`);
      assert.equal(facts.notBefore.getTime(), new Date(field('notBefore')!).getTime(), `${name}: notBefore`);
      assert.equal(facts.notAfter.getTime(), new Date(field('notAfter')!).getTime(), `${name}: notAfter`);
      assert.equal(facts.sha256Fingerprint, field('sha256 Fingerprint'), `${name}: fingerprint`);
      const keyId = /X509v3 Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(printed)?.[1];
      // openssl req -x509 gives the CA a subject key id; openssl x509 -req gives the server certificate no extensions.
      if (name === 'ca') assert.ok(keyId, `the CA has a subject key id:\n${printed}`);
      assert.equal(facts.subjectKeyId?.toString('hex').toUpperCase().match(/../g)!.join(':'), keyId, `${name}: subject key id`);
      assert.equal(facts.pem, pem.trim() + '\n', 'openssl writes canonical PEM, so it reads back unchanged');
      // Text around the block (as some tools write it) and CRLF line ends: the PEM served is the canonical one.
      assert.equal(readCertificateFacts(`Bag Attributes\r\n${pem.replace(/\n/g, '\r\n')}trailing text\r\n`).pem, pem.trim() + '\n');
    }
  });

  it('knows which key a certificate is for and which CA signed it', async () => {
    const read = async (name: string) => readCertificateFacts(await readFile(files(name).crt, 'utf8'));
    const key = async (name: string) => createPrivateKey(await readFile(files(name).key, 'utf8'));
    const [ca, server, other] = await Promise.all([read('ca'), read('server'), read('other')]);
    assert.equal(isForKey(server, createPublicKey(await key('server'))), true);
    assert.equal(isForKey(server, await key('server')), true, 'a private key stands for its public half');
    assert.equal(isForKey(server, await key('ca')), false);
    assert.equal(isSignedBy(server, ca, createPublicKey(await key('ca'))), true);
    // Same subject as the CA, another key: the name matches, the signature does not.
    assert.equal(isSignedBy(server, other, createPublicKey(await key('other'))), false);
    assert.equal(isSignedBy(server, server, createPublicKey(await key('server'))), false, 'the issuer name must match');
  });

  it('refuses what is not a PEM certificate', () => {
    assert.throws(() => readCertificateFacts('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'));
    assert.throws(() => readCertificateFacts('not a certificate'));
  });
});
