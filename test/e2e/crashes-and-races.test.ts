import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { ContainerModule } from 'inversify';
import { WebSocket } from 'ws';
import { CertificateExchange } from '../../src/core/certificate-exchange.js';
import { CertificateStore } from '../../src/core/certificate-store.js';
import { toDisposable } from '../../src/core/disposable.js';
import { HostError } from '../../src/core/host-error.js';
import { HostService } from '../../src/core/host-service.js';
import { Host } from '../../src/core/host.js';
import { createHostContainer } from '../../src/host/create-host-container.js';
import { CrashWatch } from '../helpers/fuzz-harness.js';
import { MemoryLogger, testConfig } from '../helpers/fakes.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withWebSocket } from '../helpers/test-host.js';

describe('a plugin exchange that rejects, on the WebSocket exchange port', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let watch: CrashWatch;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    // A third-party exchange that throws instead of returning a failed outcome.
    const rejecting = new ContainerModule(({ rebind }) => {
      rebind(CertificateExchange).toConstantValue({ exchange: () => Promise.reject(new Error('the plugin blew up')) });
    });
    host = await startTestHost(dir, withWebSocket, [rejecting]);
    watch = new CrashWatch().install();
  });
  after(async () => {
    watch.dispose();
    await host.stop();
    await cleanup();
  });

  it('answers {} and logs the failure instead of ending the process with an unhandled rejection', async () => {
    for (let i = 0; i < 2; i++) {
      const socket = new WebSocket(`ws://127.0.0.1:${host.wsPorts.insecure}?os=Linux&device=d&app=Rejected&device_id=unknown&medium=1`);
      await once(socket, 'open');
      socket.send(JSON.stringify({ method: 'signCertificate', csr: 'x', destination: '/tmp/x/', medium: 1 }));
      const answer = await Promise.race([once(socket, 'message').then(([data]) => String(data)), new Promise((resolve) => setTimeout(() => resolve('(no answer within 5 s)'), 5_000))]);
      assert.equal(answer, '{}');
      socket.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    watch.assertClean('a rejecting exchange');
    assert.ok(host.logger.records.some((r) => r.message === 'the certificate exchange failed' && String(r.fields.error).includes('the plugin blew up')));
  });
});

describe('a service whose start outlives its timeout', () => {
  const stopped: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stopped.splice(0)) await stop();
  });

  it('is stopped when its start finally resolves, so its port is released', async () => {
    const { path: dir, cleanup } = await makeTempDir();
    stopped.push(cleanup);
    let server: net.Server | undefined;
    // A service that binds a real port, but takes longer to report it than the host waits.
    const slow: HostService = {
      id: 'slow',
      phase: 'servers',
      start: async () => {
        server = net.createServer();
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        await new Promise((resolve) => setTimeout(resolve, 600));
        const bound = server;
        return toDisposable(() => new Promise<void>((resolve) => bound.close(() => resolve())));
      },
    };
    const logger = new MemoryLogger();
    const { container } = await createHostContainer(testConfig({ certDir: `${dir}/certs` }), {
      logger,
      modules: [new ContainerModule(({ bind }) => void bind(HostService).toConstantValue(slow))],
    });
    await container.get<CertificateStore>(CertificateStore).prepare(); // the CA exists: the host's own step is quick
    const host = container.get(Host);
    host.startTimeoutMs = 200;
    stopped.push(() => host.stop());
    await assert.rejects(host.start(), (error: unknown) => HostError.is(error, 'timeout'));
    const port = (server!.address() as net.AddressInfo).port;
    await eventually(() => !server!.listening, 'the late service to be stopped', 5_000);
    const probe = net.connect({ host: '127.0.0.1', port });
    const [error] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNREFUSED', 'the port is free again');
    assert.ok(logger.messages('warn').includes('a service started after its timeout; stopping it'));
  });
});
