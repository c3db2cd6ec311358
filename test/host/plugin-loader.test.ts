import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DeviceTransport } from '../../src/core/device-transport.js';
import { HostError } from '../../src/core/host-error.js';
import { PLUGIN_API_VERSION } from '../../src/core/plugin-descriptor.js';
import { createHostContainer } from '../../src/host/create-host-container.js';
import { MemoryLogger, testConfig } from '../helpers/fakes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * Writes an installed package whose descriptor imports nothing: its tokens come from Symbol.for and its
 * module is a plain object with load(), as a plugin built against another copy of sonarhost would be.
 */
async function installPackage(folder: string, name: string, options: { id?: string; kind?: string; binds?: string; apiVersion?: string | null; subPath?: string } = {}): Promise<void> {
  const dir = join(folder, 'node_modules', name);
  await mkdir(dir, { recursive: true });
  const file = options.subPath ?? 'index.js';
  const exportsField = options.subPath ? { '.': './index.js', [`./${options.subPath.replace(/\.js$/, '')}`]: `./${options.subPath}` } : { '.': './index.js' };
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', exports: exportsField }));
  const binds = options.binds === undefined ? 'DeviceTransport' : options.binds;
  const descriptor = {
    id: options.id ?? name.replace(/^@[^/]+\//, ''),
    kind: options.kind ?? 'device-transport',
    description: `from ${folder}`,
    ...(options.apiVersion === null ? {} : { apiVersion: options.apiVersion ?? PLUGIN_API_VERSION }),
  };
  const body =
    `const transport = { id: ${JSON.stringify(descriptor.id)}, serves: () => false, locate: async () => ({ deviceId: '' }), deploy: async () => {} };\n` +
    `export default { ...${JSON.stringify(descriptor)}, module: { id: 424242, load: ({ bind }) => { ${binds ? `bind(Symbol.for('sonarhost.${binds}')).toConstantValue(transport);` : ''} } } };\n`;
  await writeFile(join(dir, file), body);
  if (file !== 'index.js') await writeFile(join(dir, 'index.js'), 'export default undefined;\n');
}

describe('plugins from installed packages', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let configDir: string;
  let cwd: string;
  beforeEach(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    configDir = join(dir, 'config');
    cwd = join(dir, 'work');
    await mkdir(configDir);
    await mkdir(cwd);
  });
  afterEach(() => cleanup());

  const compose = (deviceTransports: string[]) => {
    const config = testConfig({ certDir: join(dir, 'certs') });
    config.plugins.deviceTransports = deviceTransports;
    return createHostContainer(config, { configDir, cwd });
  };

  it('finds a bare package name from the config file folder first, then the working folder', async () => {
    await installPackage(configDir, 'my-transport');
    await installPackage(cwd, 'my-transport', { id: 'my-transport-from-cwd' });
    await installPackage(cwd, 'only-in-cwd');
    const { plugins, container } = await compose(['my-transport', 'only-in-cwd']);
    assert.deepEqual(plugins.filter((p) => p.kind === 'device-transport').map((p) => [p.id, p.description]), [
      ['my-transport', `from ${configDir}`],
      ['only-in-cwd', `from ${cwd}`],
    ]);
    // The tokens the packages bound with Symbol.for are the host's own.
    assert.deepEqual(container.getAll<DeviceTransport>(DeviceTransport).map((t) => t.id), ['my-transport', 'only-in-cwd']);
  });

  it('accepts scoped names and package sub-paths', async () => {
    await installPackage(configDir, '@acme/transport');
    await installPackage(configDir, 'multi', { id: 'second', subPath: 'second.js' });
    const { plugins } = await compose(['@acme/transport', 'multi/second']);
    assert.deepEqual(plugins.filter((p) => p.kind === 'device-transport').map((p) => p.id), ['transport', 'second']);
  });

  it("falls back to sonarhost's own install (which holds no plugin named like this)", async () => {
    await assert.rejects(compose(['inversify']), /plugins\.deviceTransports\[0\]: "inversify" does not export a valid plugin descriptor/);
  });

  it('a package that is nowhere says every folder it looked in', async () => {
    await assert.rejects(compose(['not-installed']), (error: unknown) => {
      assert.ok(HostError.is(error, 'config-invalid'), String(error));
      const message = (error as Error).message;
      assert.match(message, /plugins\.deviceTransports\[0\]: "not-installed" is not a built-in device-transport plugin \(built-in: desktop, android, ios-simulator, ios-physical\) nor an installed package/);
      assert.ok(message.includes(`from the config file's folder: ${join(configDir, 'node_modules')}`), message);
      assert.ok(message.includes(`from the working folder: ${join(cwd, 'node_modules')}`), message);
      assert.match(message, /from sonarhost's own install: .*node_modules/);
      return true;
    });
  });

  it('warns about pluginOptions keyed by package name or by no loaded plugin, naming the ids that exist', async () => {
    await installPackage(configDir, '@acme/transport');
    const config = testConfig({ certDir: join(dir, 'certs') });
    config.plugins.deviceTransports = ['@acme/transport', 'desktop'];
    config.pluginOptions = { '@acme/transport': { root: '/x' }, desktop: {}, 'no-such-plugin': {} };
    const logger = new MemoryLogger();
    await createHostContainer(config, { configDir, cwd, logger });
    const warnings = logger.records.filter((r) => r.level === 'warn');
    assert.equal(warnings.length, 2, JSON.stringify(warnings));
    assert.match(warnings[0]!.message, /pluginOptions\["@acme\/transport"\] is ignored: options are keyed by plugin id, and the plugin loaded from "@acme\/transport" has the id "transport"/);
    assert.match(warnings[1]!.message, /pluginOptions\["no-such-plugin"\] is ignored: no loaded plugin has that id/);
    assert.ok(JSON.stringify(warnings[1]).includes('"transport"') && JSON.stringify(warnings[1]).includes('"desktop"'), 'the loaded ids are named');
  });

  it('a mistyped package name suggests the installed names nearest to it', async () => {
    await installPackage(configDir, 'toaster-transport');
    await assert.rejects(compose(['toastr-transport']), /"toastr-transport" is not a built-in device-transport plugin .*nor an installed package\. Did you mean "toaster-transport"\?/);
    await assert.rejects(compose(['andriod']), /Did you mean "android"\?/);
    await assert.rejects(compose(['something-else-entirely']), (error: unknown) => !/Did you mean/.test((error as Error).message));
  });

  it('refuses a plugin built against another major of the plugin API, naming both versions', async () => {
    await installPackage(configDir, 'future-transport', { apiVersion: '2.0' });
    await assert.rejects(compose(['future-transport']), (error: unknown) => {
      assert.ok(HostError.is(error, 'plugin-invalid'), String(error));
      assert.match((error as Error).message, new RegExp(`plugin "future-transport" \\("future-transport"\\) cannot be loaded: it was built against plugin API 2\\.0, but this host has plugin API ${PLUGIN_API_VERSION.replace('.', '\\.')}`));
      return true;
    });
  });

  it('refuses a plugin that does not say which plugin API it was built against', async () => {
    await installPackage(configDir, 'old-transport', { apiVersion: null });
    await assert.rejects(compose(['old-transport']), /plugin "old-transport" \("old-transport"\) cannot be loaded: it does not say which plugin API it was built against.*definePlugin/);
  });

  it('refuses a device transport that binds nothing, naming the plugin, its slot and what to bind', async () => {
    await installPackage(configDir, 'silent-transport', { binds: '' });
    await assert.rejects(compose(['desktop', 'silent-transport']), (error: unknown) => {
      assert.ok(HostError.is(error, 'plugin-invalid'), String(error));
      assert.match((error as Error).message, /^plugins\.deviceTransports\[1\]: device-transport plugin "silent-transport" must bind DeviceTransport and no other slot's contract, but it binds none of the host contracts\. Bind it with bind\(DeviceTransport\)/);
      return true;
    });
  });

  it('refuses a device transport that binds the wrong service', async () => {
    await installPackage(configDir, 'confused-transport', { binds: 'ConnectionHandler' });
    await assert.rejects(compose(['confused-transport']), /device-transport plugin "confused-transport" must bind DeviceTransport and no other slot's contract, but it binds ConnectionHandler/);
  });

  it('refuses a connection handler that also takes the certificate store slot', async () => {
    await installPackage(configDir, 'greedy-handler', { kind: 'connection-handler', binds: 'CertificateStore' });
    const config = testConfig({ certDir: join(dir, 'certs') });
    config.plugins.connectionHandlers = ['greedy-handler'];
    await assert.rejects(createHostContainer(config, { configDir, cwd }), /plugins\.connectionHandlers\[0\]: connection-handler plugin "greedy-handler" must bind ConnectionHandler .*but it binds CertificateStore/);
  });
});

describe('HostError across installed copies', () => {
  it('a HostError thrown by a plugin with its own copy of sonarhost is a HostError to the host, kind and all', async () => {
    // A second instance of the module, as a plugin's own node_modules/sonarhost would load it.
    const other = (await import(new URL('../../src/core/host-error.js?another-copy', import.meta.url).href)) as { HostError: typeof HostError };
    assert.notEqual(other.HostError, HostError);
    const error = new other.HostError('device-not-found', 'No device holds this app.csr.');
    assert.ok(error instanceof HostError);
    assert.ok(HostError.is(error, 'device-not-found'));
    assert.ok(!HostError.is(new Error('plain'), 'device-not-found'));
  });
});
