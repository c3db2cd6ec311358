import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContainerModule, injectable } from 'inversify';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { type DeviceFile, type DeviceTarget, DeviceTransport, type ExchangeRequest } from '../../src/core/device-transport.js';
import { HostError } from '../../src/core/host-error.js';
import { normalizeCsr } from '../../src/core/x509/csr.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withWebSocket } from '../helpers/test-host.js';

/** A device transport for an OS no SDK ships: it serves os "Toaster", its "device" is a local folder. */
@injectable()
class ToasterTransport implements DeviceTransport {
  readonly id = 'toaster';
  serves(request: ExchangeRequest): boolean {
    return request.query.os === 'Toaster';
  }
  async locate(request: ExchangeRequest): Promise<DeviceTarget> {
    const csr = await readFile(join(request.destination, 'app.csr'), 'utf8').catch(() => '');
    if (normalizeCsr(csr) !== request.csr.pem) throw new HostError('device-not-found', `No toaster holds this app.csr in ${request.destination}.`);
    return { deviceId: 'toaster-1', detail: request.destination };
  }
  async deploy(_request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void> {
    for (const file of files) await writeFile(join(target.detail as string, file.name), file.contents);
  }
}

/**
 * The core never keeps a list of OSes: a device transport for a new OS is reached over both eras'
 * ports, and an OS no transport serves is refused by the exchange with a reason in the log.
 */
describe('a device transport for an OS of its own, over RSocket and WebSocket', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withWebSocket, [new ContainerModule(({ bind }) => void bind(DeviceTransport).to(ToasterTransport).inSingletonScope())]);
  });
  after(async () => {
    await host.stop();
    await cleanup();
  });

  for (const transport of ['rsocket', 'websocket'] as const) {
    it(`exchanges, connects securely and answers a call (${transport})`, async () => {
      const appId = `com.example.toast.${transport}`;
      const client = new FlipperClient({
        appId, appName: `Toast ${transport}`, os: 'Toaster', device: 'kitchen', stateDir: join(dir, `toast-${transport}`, 'sonar'),
        host: '127.0.0.1', transport, ports: transport === 'websocket' ? { insecure: host.wsPorts.insecure!, secure: host.wsPorts.secure! } : host.ports,
        plugins: [demoPlugin()], reconnectMs: 50,
      });
      client.start();
      try {
        const session = await eventually(() => host.registry.list().find((s) => s.appId === appId), `${appId} registered`, 60_000);
        assert.equal(session.query.os, 'Toaster');
        assert.equal(session.query.deviceId, 'toaster-1');
        assert.deepEqual(await session.call('demo', 'echo', { toast: 2 }), { toast: 2 });
      } finally {
        await client.stop();
      }
    });
  }

  it('refuses an OS that no transport serves, with the reason in the log and a problem in the app', async () => {
    const client = new FlipperClient({
      appId: 'com.example.fridge', appName: 'Fridge', os: 'Fridge', device: 'kitchen', stateDir: join(dir, 'fridge', 'sonar'),
      host: '127.0.0.1', transport: 'websocket', ports: { insecure: host.wsPorts.insecure!, secure: host.wsPorts.secure! }, plugins: [], reconnectMs: 50,
    });
    const problems: string[] = [];
    client.on('problem', (message: string) => problems.push(message));
    client.start();
    try {
      await eventually(() => problems.length > 0, 'the app to report the refusal');
      await eventually(() => host.logger.records.some((r) => r.level === 'warn' && JSON.stringify(r).includes('No device transport serves os \\"Fridge\\"')), 'the reason in the host log');
      assert.match(problems[0]!, /without a deviceId/);
    } finally {
      await client.stop();
    }
  });
});
