import assert from 'node:assert/strict';
import { cp, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NPM, QUICK_INSTALL, ROOT, later, pack, run } from '../helpers/npm-run.js';
import { CLI_PATH } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * Plugin packages as their authors work on them, against the packed sonarhost: packages written by
 * `create-plugin` (the handler's own `npm install`, then `npm test`; the device transport and the
 * event-recorder example share that install, having the same dependencies, and run their own `npm test`).
 * The device transport is written by README's own "Start a plugin" command, run through npx from the tarball.
 */
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** README's "Start a plugin" command, as a user would copy it. */
async function readmeStartPluginCommand(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const command = /\*\*Start a plugin\*\* with\s+`(npx [^`]+)`/.exec(readme)?.[1];
  assert.ok(command, 'README has a "Start a plugin" command');
  return command.replace(/\s+/g, ' ');
}

describe('plugin packages and their own tests', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let scaffold: string;
  let recorder: string;
  let transportTested: Promise<{ output: string }>;
  let scaffoldTested: Promise<{ output: string }>;
  let recorderTested: Promise<{ output: string }>;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-pack-'));
    const tarball = await pack(dir);
    scaffold = join(dir, 'my-handler');
    recorder = join(dir, 'event-recorder-handler');
    await cp(join(ROOT, 'examples', 'event-recorder-handler'), recorder, { recursive: true, filter: (source) => !/[\\/](node_modules|dist)$/.test(source) });
    const transport = join(dir, 'my-transport');
    await run(process.execPath, [CLI_PATH, 'create-plugin', scaffold, '--kind', 'connection-handler', '--sonarhost', `file:${tarball}`], dir);
    const [command, ...args] = (await readmeStartPluginCommand()).replaceAll('/path/to/sonarhost-0.1.0.tgz', tarball).split(' ');
    assert.equal(command, 'npx');
    // npx installs sonarhost's dependencies from the npm cache when it can (as QUICK_INSTALL does).
    await run(NPX, args, dir, { env: { npm_config_prefer_offline: 'true' }, timeoutMs: 240_000 });
    const shareInstall = (folder: string) => symlink(join(scaffold, 'node_modules'), join(folder, 'node_modules'), 'dir');
    const installed = later(run(NPM, ['install', ...QUICK_INSTALL], scaffold).then(() => Promise.all([shareInstall(recorder), shareInstall(transport)])));
    scaffoldTested = later(installed.then(() => run(NPM, ['test'], scaffold)));
    transportTested = later(installed.then(() => run(NPM, ['test'], transport)));
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

  it('a device transport written by create-plugin serves a made-up os over both SDK eras through its own tests (sonarhost/testing)', async () => {
    const { output } = await transportTested;
    assert.match(output, /ok \d+ - device transport "my-transport" conformance/);
    for (const era of ['rsocket', 'websocket']) assert.match(output, new RegExp(`ok \\d+ - an app on the device completes the exchange and the secure connection \\(${era}\\)`));
    assert.match(output, /# fail 0/);
  });

  it('the event-recorder example package passes its own tests (sonarhost/testing) against the packed sonarhost', async () => {
    const { output } = await recorderTested;
    assert.match(output, /ok \d+ - connection handler "event-recorder" conformance/);
    assert.match(output, /ok \d+ - records the connection and the events of the claimed plugin of a real app/);
    assert.match(output, /# fail 0/);
  });
});
