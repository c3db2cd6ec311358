import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import { join } from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { listUsbDevices } from '../../src/platforms/ios-physical/usbmux-client.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { HostileUsbmuxd, type UsbmuxdAttack } from '../helpers/fake-usbmux/hostile-usbmuxd.js';
import { SETUP, rawExchange } from '../helpers/raw-rsocket.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost, withApi } from '../helpers/test-host.js';

const UDID = '00008110-000A1B2C3D4E5F60';
/** Small, so each attack is answered quickly; the guards below are multiples of it. */
const REQUEST_TIMEOUT_MS = 300;
/** The longest one iOS exchange may take: a handful of requests, each within its deadline. */
const EXCHANGE_GUARD_MS = 20 * REQUEST_TIMEOUT_MS;
const DESTINATION = '/var/mobile/Containers/Data/Application/5B1E1C4A-2F7D-4E7B-9A51-0C9D1F7E2A11/Library/Application Support/sonar/';

/** V8's heap in use after two full collections (gc exposed at run time, as --expose-gc would). */
function settledHeap(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Settles with what `work` gave, or with 'too slow' once `ms` passed: a failure guard, not a benchmark. */
function guard<T>(work: Promise<T>, ms: number): Promise<T | 'too slow'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<'too slow'>((resolve) => (timer = setTimeout(() => resolve('too slow'), ms)))]).finally(() => clearTimeout(timer));
}

function getJson(port: number, path: string, token: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

/**
 * A usbmuxd squatted by another local user (issue 22): it floods replies with foreign tags, never
 * answers, or trickles. The host starts anyway, desktop apps are served as usual, every iOS exchange is
 * refused within its deadline, /api/devices answers with the phone unreachable, and no usbmuxd socket
 * is left open.
 */
for (const attack of ['flood', 'silent', 'trickle'] as const satisfies readonly UsbmuxdAttack[]) {
  describe(`a hostile usbmuxd that attacks by "${attack}"`, () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    let usbmuxd: HostileUsbmuxd;
    let host: TestHost | undefined;
    let client: FlipperClient | undefined;

    beforeEach(async () => {
      ({ path: dir, cleanup } = await makeTempDir('sonarhost-hostile-usbmuxd-'));
      usbmuxd = await new HostileUsbmuxd(join(dir, 'usbmuxd.sock'), attack, [UDID]).start();
    });
    afterEach(async () => {
      await client?.stop();
      client = undefined;
      await host?.stop();
      host = undefined;
      await usbmuxd.stop();
      await cleanup();
    });

    it('does not hold up start-up, desktop apps, iOS exchanges or /api/devices, and leaves no usbmuxd socket open', async () => {
      const started = await guard(
        startTestHost(dir, (config) => {
          withApi(config);
          config.plugins.deviceTransports = ['desktop', 'ios-physical'];
          config.pluginOptions['ios-physical'] = { usbmuxdSocket: usbmuxd.address, requestTimeoutMs: REQUEST_TIMEOUT_MS, forwardPorts: false };
        }),
        10_000,
      );
      assert.notEqual(started, 'too slow', 'the host start must complete while usbmuxd misbehaves');
      host = started as TestHost;
      await eventually(() => usbmuxd.requests.includes('Listen'), 'the host to ask usbmuxd to report devices');

      // A desktop app: exchange, mutual TLS, registration, all while the attack goes on.
      client = new FlipperClient({
        appId: 'com.example.desktop', appName: 'Desktop Demo', os: 'Linux', device: 'workstation', stateDir: join(dir, 'app', 'sonar'),
        host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin()], reconnectMs: 50,
      });
      client.start();
      const session = await eventually(() => onlyClient(host!.registry), 'the desktop app to register', 3_000);
      assert.equal(session.appId, 'com.example.desktop');

      // iOS exchanges: each refused, within its deadline, with a message that says why.
      const heapBefore = settledHeap();
      const keys = await generateRsaKeyPair();
      const request = JSON.stringify({ method: 'signCertificate', csr: await createCsr('com.example.phoneapp', keys), destination: DESTINATION, medium: 1 });
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => guard(rawExchange(host!.ports.insecure, SETUP({ os: 'iOS', device: 'iPhone', app: 'Phone' }), request).then((p) => `answered ${String(p.data)}`, (e: Error) => e.message), EXCHANGE_GUARD_MS)),
      );
      for (const outcome of outcomes) {
        assert.notEqual(outcome, 'too slow', 'an iOS exchange was not answered within its deadline');
        assert.match(String(outcome), /did not answer within 300 ms|replies to requests never made/);
      }

      // Memory stays bounded through the attack (it grew by tens of MB when replies with foreign tags were
      // read forever): the heap after a full GC, a failure guard rather than a measurement.
      const grown = settledHeap() - heapBefore;
      assert.ok(grown < 32 * 1024 * 1024, `the heap grew by ${Math.round(grown / 1024 / 1024)} MB during the attack`);
      // /api/devices answers, with the phone marked unreachable.
      const token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
      const reports = await guard(getJson(host.apiPort!, '/api/devices', token), EXCHANGE_GUARD_MS);
      assert.notEqual(reports, 'too slow', '/api/devices did not answer within its deadline');
      const ios = (reports as Array<{ transport: string; devices: Array<{ id: string; state: string }> }>).find((r) => r.transport === 'ios-physical')!;
      assert.deepEqual(ios.devices.map((d) => [d.id, d.state]), [[UDID, 'unreachable']]);

      // Only the Listen subscription (if usbmuxd let it through) may stay; nothing after the host stops.
      await eventually(() => usbmuxd.open.size <= 1, 'the exchanges to close their usbmuxd sockets', EXCHANGE_GUARD_MS);
      await host.stop();
      host = undefined;
      await eventually(() => usbmuxd.open.size === 0, 'every usbmuxd socket to be closed after the host stopped', 2_000);
      assert.ok(usbmuxd.accepted >= 5, `the host did talk to usbmuxd (${usbmuxd.accepted} connections)`);
    });
  });
}

describe('a usbmux request answered only with replies to other requests', () => {
  it('fails after a bounded number of them and closes its connection', async () => {
    const { path: dir, cleanup } = await makeTempDir('sonarhost-hostile-usbmuxd-');
    const usbmuxd = await new HostileUsbmuxd(join(dir, 'usbmuxd.sock'), 'flood').start();
    try {
      // A deadline far away: only the count of unrelated replies can end this request.
      await assert.rejects(listUsbDevices({ path: usbmuxd.path }, 60_000), /more than 16 replies to requests never made/);
      await eventually(() => usbmuxd.open.size === 0, 'the connection to be closed', 2_000);
    } finally {
      await usbmuxd.stop();
      await cleanup();
    }
  });
});
