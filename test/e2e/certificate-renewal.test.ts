import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { CertificateRenewal } from '../../src/core/certificate-renewal.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { ManualClock } from '../helpers/fakes.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost, withWebSocket } from '../helpers/test-host.js';

function serverFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/** A host that runs for weeks renews its certificates without a restart, and apps keep connecting. */
describe('certificate renewal while the host runs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let client: FlipperClient;
  const clock = new ManualClock();

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    clock.advanceDays(-29.5); // the host started 29.5 days ago
    host = await startTestHost(dir, withWebSocket, [], clock);
    client = new FlipperClient({
      appId: 'com.example.longrun', appName: 'Long Run', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin()], reconnectMs: 50,
    });
    client.start();
    await eventually(() => onlyClient(host.registry), 'the first connection');
  });
  after(async () => {
    await client.stop();
    await host.stop();
    await cleanup();
  });

  it('renews the server and CA certificates in place, and the secure listeners switch to them', async () => {
    const before = [await serverFingerprint(host.ports.secure), await serverFingerprint(host.wsPorts.secure!)];
    assert.equal(before[0], before[1]);
    clock.advanceDays(29.5); // today: the server certificate expires within a day, the CA certificate is 29 days old
    const renewals = await host.container.get(CertificateRenewal).checkNow();
    assert.equal(renewals.length, 2, renewals.join('\n'));
    assert.match(renewals.join('\n'), /re-issued the CA certificate: it was issued more than 25 days ago/);
    assert.match(renewals.join('\n'), /issued a new server certificate: server\.crt expires within 24 hours/);
    const after = [await serverFingerprint(host.ports.secure), await serverFingerprint(host.wsPorts.secure!)];
    assert.notEqual(after[0], before[0]);
    assert.equal(after[0], after[1]);

    // The app reconnects with the certificates it already has: no new exchange.
    const first = onlyClient(host.registry);
    await client.stop();
    await eventually(() => host.registry.list().length === 0, 'the old connection to be gone');
    client.start();
    const session = await eventually(() => onlyClient(host.registry), 'the reconnection');
    assert.notEqual(session, first);
    assert.equal(client.exchanges, 1);
    assert.equal(await session.call('demo', 'echo', 'renewed'), 'renewed');
  });
});
