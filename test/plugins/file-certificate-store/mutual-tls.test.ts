import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createCsr } from '../../../src/core/x509/csr.js';
import { exportPrivateKeyPem, generateRsaKeyPair } from '../../../src/core/x509/webcrypto.js';
import { FileCertificateStore } from '../../../src/plugins/file-certificate-store/file-certificate-store.js';
import { ManualClock, MemoryLogger, testConfig } from '../../helpers/fakes.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

describe('certificates in a real mutual-TLS handshake', () => {
  let cleanup: () => Promise<void>;
  let store: FileCertificateStore;
  let server: tls.Server;

  beforeEach(async () => {
    const temp = await makeTempDir();
    cleanup = temp.cleanup;
    store = new FileCertificateStore(testConfig({ certDir: join(temp.path, 'certs') }), new ManualClock(), new MemoryLogger());
    await store.prepare();
    const { key, cert, ca } = store.serverCredentials();
    server = tls.createServer({ key, cert, ca, requestCert: true, rejectUnauthorized: true }, (socket) => {
      const peer = socket.getPeerCertificate();
      socket.end(`hello ${peer.subject.CN}`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterEach(async () => {
    server.close();
    await cleanup();
  });

  it('completes with verification on both sides, the server checked as localhost', async () => {
    const keys = await generateRsaKeyPair();
    const issued = await store.signCsr(await createCsr('com.example.app', keys));
    const socket = tls.connect({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: store.caCertificatePem(),
      cert: issued.certificatePem,
      key: await exportPrivateKeyPem(keys.privateKey),
      rejectUnauthorized: true,
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(socket, 'end');
    assert.equal(socket.authorized, true);
    assert.equal(Buffer.concat(chunks).toString(), 'hello com.example.app');
    assert.equal(tls.checkServerIdentity('localhost', socket.getPeerCertificate()), undefined);
    assert.equal(tls.checkServerIdentity('127.0.0.1', socket.getPeerCertificate()), undefined);
  });

  it('is refused by the server for a client without a certificate', async () => {
    const socket = tls.connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', ca: store.caCertificatePem(), servername: 'localhost' });
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  });
});
