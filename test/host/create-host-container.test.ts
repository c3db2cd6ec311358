import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ContainerModule } from 'inversify';
import { CertificateStore } from '../../src/core/certificate-store.js';
import { HostError } from '../../src/core/host-error.js';
import { FileCertificateStore } from '../../src/plugins/file-certificate-store/file-certificate-store.js';
import { createHostContainer } from '../../src/host/create-host-container.js';
import { partialCertificateStore, testConfig } from '../helpers/fakes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/plugins');

describe('createHostContainer', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ path: dir, cleanup } = await makeTempDir()));
  afterEach(() => cleanup());

  it('wires the built-in certificate store selected by id, and the host starts it', async () => {
    const { container, host, plugins } = await createHostContainer(testConfig({ certDir: join(dir, 'certs') }));
    assert.deepEqual(plugins.map((p) => p.id), ['file-certificate-store', 'default-exchange']);
    assert.ok(container.get(CertificateStore) instanceof FileCertificateStore);
    const report = await host.start();
    assert.equal(report.location, join(dir, 'certs'));
    await host.stop();
  });

  it('lets a test override one provider', async () => {
    const fake = partialCertificateStore({ prepare: async () => ({ location: 'fake' }) as never });
    const { host } = await createHostContainer(testConfig({ certDir: join(dir, 'certs') }), {
      modules: [new ContainerModule(({ rebind }) => void rebind(CertificateStore).toConstantValue(fake))],
    });
    assert.equal((await host.start()).location, 'fake');
    await host.stop();
  });

  it('loads a plugin by module path', async () => {
    const config = testConfig({ certDir: join(dir, 'certs') });
    config.plugins.certificateStore = join(fixtures, 'custom-store.js');
    const { plugins, host } = await createHostContainer(config);
    assert.deepEqual(plugins.map((p) => p.id), ['custom-store', 'default-exchange']);
    assert.equal((await host.start()).location, 'custom');
    await host.stop();
  });

  const refusals: Array<[string, (c: ReturnType<typeof testConfig>) => void, string, RegExp]> = [
    ['an unknown built-in id', (c) => (c.plugins.certificateStore = 'keychain'), 'config-invalid', /plugins\.certificateStore: "keychain" is not a built-in certificate-store plugin \(built-in: file-certificate-store\)/],
    ['a module without a descriptor', (c) => (c.plugins.certificateStore = join(fixtures, 'not-a-plugin.js')), 'plugin-invalid', /does not export a valid plugin descriptor \(as `default` or `plugin`\): it is not an object/],
    ['a module that does not exist', (c) => (c.plugins.certificateStore = join(fixtures, 'nope.js')), 'plugin-invalid', /cannot load plugin module/],
    ['a certificate-store plugin that binds no CertificateStore', (c) => (c.plugins.certificateStore = join(fixtures, 'binds-nothing.js')), 'plugin-invalid', /plugins\.certificateStore: certificate-store plugin "binds-nothing" must bind CertificateStore .*but it binds none of the host contracts/],
    [
      'a device transport whose class lacks locate and deploy',
      (c) => (c.plugins.deviceTransports = [join(fixtures, 'transport-without-locate.js'), 'desktop']),
      'plugin-invalid',
      /plugins\.deviceTransports\[0\]: device-transport plugin "half-transport" binds DeviceTransport to HalfTransport \(id "half-transport"\), which lacks locate\(\), deploy\(\)/,
    ],
    ['a plugin of the wrong kind', (c) => (c.plugins.deviceTransports = ['file-certificate-store']), 'plugin-invalid', /is a certificate-store plugin, but this entry takes a device-transport plugin/],
  ];
  for (const [name, change, kind, pattern] of refusals) {
    it(`refuses ${name} with a clear error`, async () => {
      const config = testConfig({ certDir: join(dir, 'certs') });
      change(config);
      await assert.rejects(createHostContainer(config), (error: unknown) => {
        assert.ok(HostError.is(error, kind as never), String(error));
        assert.match((error as Error).message, pattern);
        return true;
      });
    });
  }
});
