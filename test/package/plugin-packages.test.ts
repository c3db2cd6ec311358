import assert from 'node:assert/strict';
import { cp, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NPM, QUICK_INSTALL, ROOT, later, pack, run } from '../helpers/npm-run.js';
import { CLI_PATH } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * Plugin packages as their authors work on them, against the packed sonarhost: a package written by
 * `create-plugin` (its own `npm install`, then `npm test`), and the event-recorder example, which
 * shares that install (same dependencies) and runs its own `npm test`.
 */
describe('plugin packages and their own tests', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let scaffold: string;
  let recorder: string;
  let scaffoldTested: Promise<{ output: string }>;
  let recorderTested: Promise<{ output: string }>;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-pack-'));
    const tarball = await pack(dir);
    scaffold = join(dir, 'my-handler');
    recorder = join(dir, 'event-recorder-handler');
    await cp(join(ROOT, 'examples', 'event-recorder-handler'), recorder, { recursive: true, filter: (source) => !/[\\/](node_modules|dist)$/.test(source) });
    await run(process.execPath, [CLI_PATH, 'create-plugin', scaffold, '--kind', 'connection-handler', '--sonarhost', `file:${tarball}`], dir);
    const installed = later(run(NPM, ['install', ...QUICK_INSTALL], scaffold).then(() => symlink(join(scaffold, 'node_modules'), join(recorder, 'node_modules'), 'dir')));
    scaffoldTested = later(installed.then(() => run(NPM, ['test'], scaffold)));
    recorderTested = later(installed.then(() => run(NPM, ['test'], recorder)));
    await installed;
  });
  after(() => cleanup());

  it('a package written by create-plugin passes its own npm install && npm test', async () => {
    const { output } = await scaffoldTested;
    assert.match(output, /ok \d+ - connection handler "my-handler" conformance/);
    assert.match(output, /ok \d+ - sees a real app connect through the exchange and the secure connection/);
    assert.match(output, /# fail 0/);
  });

  it('the event-recorder example package passes its own tests (sonarhost/testing) against the packed sonarhost', async () => {
    const { output } = await recorderTested;
    assert.match(output, /ok \d+ - connection handler "event-recorder" conformance/);
    assert.match(output, /ok \d+ - records the connection and the events of the claimed plugin of a real app/);
    assert.match(output, /# fail 0/);
  });
});
