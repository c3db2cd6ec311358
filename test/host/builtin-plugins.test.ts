import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { loadCatalogEntry } from '../../src/core/plugin-descriptor.js';
import { BUILTIN_PLUGINS } from '../../src/host/builtin-plugins.js';

const run = promisify(execFile);
const CONTAINER = fileURLToPath(new URL('../../src/host/create-host-container.js', import.meta.url));
const FAKES = fileURLToPath(new URL('../helpers/fakes.js', import.meta.url));

/** Composes a host in a fresh process and prints which of the heavy third-party packages it loaded. */
async function packagesLoadedFor(deviceTransports: string[]): Promise<string[]> {
  const script = `
    import 'reflect-metadata';
    import { createRequire } from 'node:module';
    const { createHostContainer } = await import(${JSON.stringify(CONTAINER)});
    const { testConfig } = await import(${JSON.stringify(FAKES)});
    const config = testConfig();
    config.plugins.transports = ['rsocket'];
    config.plugins.deviceTransports = ${JSON.stringify(deviceTransports)};
    await createHostContainer(config);
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify(['@devicefarmer/adbkit', 'simple-plist', 'ws'].filter((name) => loaded.some((file) => file.includes('/node_modules/' + name + '/')))));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)) });
  return JSON.parse(stdout) as string[];
}

describe('the built-in plugin catalog', () => {
  it('lists each plugin under the id and kind its module describes', async () => {
    for (const entry of BUILTIN_PLUGINS) {
      const descriptor = await loadCatalogEntry(entry);
      assert.equal(descriptor.id, entry.id);
      assert.equal(descriptor.kind, entry.kind);
    }
  });

  it('imports only what a config selects and uses: no adb client without Android, no plist parser before a simulator is read', async () => {
    assert.deepEqual(await packagesLoadedFor(['desktop']), []);
    assert.deepEqual(await packagesLoadedFor(['desktop', 'ios-simulator', 'ios-physical']), []);
    assert.deepEqual(await packagesLoadedFor(['desktop', 'android']), ['@devicefarmer/adbkit']);
  });
});
