import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, readFile, readdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { freePorts } from '../helpers/free-ports.js';
import { NPM, QUICK_INSTALL, ROOT, later, pack, run, userEnv } from '../helpers/npm-run.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/**
 * sonarhost as plugin authors and users get it: the packed tarball, installed into plugin packages
 * with their own node_modules, and into a third folder where `npx sonarhost` loads a plugin by its
 * bare package name. One pack and two installs are shared by the tests here.
 */
describe('plugins from outside the repository', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let tarball: string;
  let authors: string;
  let mounted: string;
  let exampleTested: Promise<{ output: string }>;
  let siteInstalled: Promise<string>;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-pack-'));
    tarball = await pack(dir);
    authors = join(dir, 'authors');
    mounted = join(authors, 'mounted-folder-transport');
    const onlySources = (source: string) => !/[\\/](node_modules|dist)$/.test(source);
    await cp(join(ROOT, 'examples', 'mounted-folder-transport'), mounted, { recursive: true, filter: onlySources });

    // The mounted-folder example installs the tarball as an author would; then its own tests and the
    // third folder's install run side by side.
    const mountedInstalled = later(run(NPM, ['install', ...QUICK_INSTALL, tarball], mounted));
    exampleTested = later(mountedInstalled.then(() => run(NPM, ['test'], mounted)));
    siteInstalled = later(mountedInstalled.then(() => installSite(join(dir, 'site'), tarball, mounted)));
    await mountedInstalled;
  });
  after(() => cleanup());

  it('the tarball holds the built package with declarations, and no tests, bench or test output', async () => {
    const files = (await run('tar', ['tzf', tarball], dir)).output.trim().split('\n');
    for (const entry of ['package/dist/src/cli/bin.js', 'package/dist/src/cli/main.js', 'package/dist/src/bundle/sonarhost.js', 'package/dist/src/client/index.d.ts', 'package/dist/src/core/plugin-api.d.ts', 'package/dist/src/testing/index.d.ts', 'package/dist/src/host/index.d.ts', 'package/dist/src/cli/mcp-command.js', 'package/package.json', 'package/README.md']) {
      assert.ok(files.includes(entry), `${entry} is missing from the tarball`);
    }
    assert.deepEqual(files.filter((f) => /^package\/(test|bench|examples|dist\/test|dist\/bench|dist\/examples|src)\//.test(f) || f.endsWith('.map')), []);
  });

  it("README's plugin snippet compiles against the shipped declarations (tsc, strict)", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Plugins\n'));
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
    assert.match(snippet, /from 'sonarhost\/plugin-api'/);
    const folder = join(mounted, 'readme-snippet');
    await mkdir(folder);
    await writeFile(join(folder, 'my-transport.ts'), snippet);
    await writeFile(join(folder, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', compilerOptions: { noEmit: true, noUnusedLocals: true }, include: ['*.ts'] }));
    await run(join(mounted, 'node_modules', '.bin', 'tsc'), ['-p', folder], mounted);
  });

  it("README's 'Using sonarhost from code' example compiles against the shipped declarations and runs: a host on free ports, an app, a call, and the process exits by itself after stop()", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Using sonarhost from code\n'));
    const example = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
    assert.match(example, /from 'sonarhost\/host'/);
    const folder = join(mounted, 'host-example');
    await mkdir(folder);
    await writeFile(join(folder, 'example.ts'), example);
    await writeFile(join(folder, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', compilerOptions: { rootDir: '.', outDir: 'out', noUnusedLocals: true, declaration: false }, include: ['*.ts'] }));
    await run(join(mounted, 'node_modules', '.bin', 'tsc'), ['-p', folder], mounted);
    // run() gives up (and fails) after its deadline: a handle left open by stop() would keep the process alive.
    const { output } = await run(process.execPath, [join(folder, 'out', 'example.js')], mounted, { timeoutMs: 60_000 });
    assert.match(output, /RSocket ports \{ insecure: \d+, secure: \d+ \} API \d+/);
    assert.match(output, /[0-9a-f]{8} Example \(com\.example\.app\): echo/);
    assert.match(output, /answer \{"hello":"world"\}/);
  });

  it('the mounted-folder example package passes its own tests (sonarhost/testing) against the packed sonarhost', async () => {
    const { output } = await exampleTested;
    assert.match(output, /ok \d+ - device transport "mounted-folders" conformance/);
    assert.match(output, /ok \d+ - an app inside a mounted VM completes the exchange and the secure connection/);
    assert.match(output, /# fail 0/);
  });

  it('npx sonarhost in a third folder loads the plugin by its bare package name and an app completes the exchange and the secure connection through it', async () => {
    const site = await siteInstalled;
    // The plugin is linked from its author's folder and so brings its own copy of sonarhost (and inversify).
    const pluginFolder = await realpath(join(site, 'node_modules', 'sonarhost-mounted-folder-transport'));
    assert.equal(pluginFolder, await realpath(mounted));
    assert.ok((await readdir(join(pluginFolder, 'node_modules'))).includes('sonarhost'), 'the plugin has its own installed copy of sonarhost');

    const [insecure, secure] = await freePorts(2);
    const appFolder = join(site, 'vm-1', 'home', 'app', 'sonar');
    await mkdir(appFolder, { recursive: true });
    await writeFile(join(site, 'sonarhost.config.json'), JSON.stringify({
      host: '127.0.0.1',
      ports: { insecure, secure },
      webSocket: { insecure: false, secure: false, browser: false },
      api: { port: false },
      certDir: './certs',
      plugins: { deviceTransports: ['sonarhost-mounted-folder-transport', 'desktop'], connectionHandlers: [], services: [] },
      // Options under the package name instead of the plugin id are read by nobody: the host says so.
      // Options for a plugin that is not loaded at all: the warning lists the ids that are.
      pluginOptions: { 'mounted-folders': { devices: { 'vm-1': './vm-1' } }, 'sonarhost-mounted-folder-transport': { devices: {} }, nope: {} },
    }));
    const host = spawn(NPX, ['--no', 'sonarhost'], { cwd: site, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let logs = '';
    host.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    host.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const client = new FlipperClient({
      appId: 'com.example.invm', appName: 'In VM', os: 'Linux', device: 'vm-1', stateDir: appFolder, reportedStateDir: '/home/app/sonar/',
      host: '127.0.0.1', ports: { insecure: insecure!, secure: secure! }, reconnectMs: 200,
    });
    try {
      // The plugin list is logged once the host has started, after the listeners: wait for the last start line.
      await eventually(() => logs.includes('sonarhost is running') || host.exitCode !== null, `the host to start; logs:\n${logs}`, 60_000);
      assert.match(logs, /"device-transport:mounted-folders","device-transport:desktop"/, logs);
      // The installed command runs its start-up bundle, whose inversify is not the plugin's copy.
      assert.match(logs, /"build":"bundle: start-up bundle"/, logs);
      // The log is JSON lines: the quotes of the message are escaped.
      assert.match(logs, /pluginOptions\[\\"sonarhost-mounted-folder-transport\\"\] is ignored: options are keyed by plugin id, and the plugin loaded from \\"sonarhost-mounted-folder-transport\\" has the id \\"mounted-folders\\"/, logs);
      assert.match(logs, /pluginOptions\[\\"nope\\"\] is ignored: no loaded plugin has that id \(the loaded plugins are [^)]*\\"mounted-folders\\"[^)]*\\"desktop\\"/, logs);
      const exchanged = once(client, 'exchanged') as Promise<[{ deviceId: string }]>;
      const connected = once(client, 'connected');
      client.start();
      const [{ deviceId }] = await exchanged;
      assert.equal(deviceId, 'mounted:vm-1', 'the plugin (not desktop) located the app');
      await connected;
      assert.deepEqual((await readdir(appFolder)).filter((f) => f.endsWith('.crt')).sort(), ['device.crt', 'sonarCA.crt']);
      await eventually(() => logs.includes('com.example.invm') || logs.includes('In VM'), `the host to register the app; logs:\n${logs}`);
    } finally {
      await client.stop();
      await stop(host);
    }
  });

  it('npx sonarhost refuses a plugin package that binds nothing, naming it, its slot and what it should bind', async () => {
    const site = await siteInstalled;
    await writeFile(join(site, 'empty.config.json'), JSON.stringify({ plugins: { deviceTransports: ['empty-transport', 'desktop'] }, certDir: './certs', api: { port: false }, flipperServer: { port: false } }));
    const { code, output } = await run(NPX, ['--no', '--', 'sonarhost', '--config', 'empty.config.json'], site, { allowFailure: true, timeoutMs: 60_000 });
    assert.equal(code, 1, output);
    assert.match(output, /plugins\.deviceTransports\[0\]: device-transport plugin "empty-transport" must bind DeviceTransport .*but it binds none of the host contracts/);
  });

  it('npx sonarhost refuses a plugin package whose transport class lacks a method, naming the plugin, its slot and the method', async () => {
    const site = await siteInstalled;
    await writeFile(join(site, 'lacking.config.json'), JSON.stringify({ plugins: { deviceTransports: ['lacking-transport', 'desktop'] }, certDir: './certs', api: { port: false }, flipperServer: { port: false } }));
    const { code, output } = await run(NPX, ['--no', '--', 'sonarhost', '--config', 'lacking.config.json'], site, { allowFailure: true, timeoutMs: 60_000 });
    assert.equal(code, 1, output);
    assert.match(output, /plugins\.deviceTransports\[0\]: device-transport plugin "lacking-transport" binds DeviceTransport to LackingTransport \(id "lacking-transport"\), which lacks locate\(\)/);
  });

  it('npx sonarhost answers a misspelt package name with the installed names closest to it', async () => {
    const site = await siteInstalled;
    await writeFile(join(site, 'typo.config.json'), JSON.stringify({ plugins: { deviceTransports: ['sonarhost-mounted-folder-transprt', 'desktop'] }, certDir: './certs', api: { port: false }, flipperServer: { port: false } }));
    const { code, output } = await run(NPX, ['--no', '--', 'sonarhost', '--config', 'typo.config.json'], site, { allowFailure: true, timeoutMs: 60_000 });
    assert.equal(code, 1, output);
    assert.match(output, /Did you mean "sonarhost-mounted-folder-transport"\?/);
  });
});

/**
 * A user's folder: sonarhost from the tarball, the plugin from its author's folder, a plugin that binds
 * nothing and one whose transport class has no locate().
 */
async function installSite(site: string, tarball: string, plugin: string): Promise<string> {
  await mkdir(site);
  await writeFile(join(site, 'package.json'), JSON.stringify({ name: 'my-flipper-host', version: '1.0.0', private: true }));
  await run(NPM, ['install', ...QUICK_INSTALL, tarball, plugin], site);
  const empty = join(site, 'node_modules', 'empty-transport');
  await mkdir(empty);
  await writeFile(join(empty, 'package.json'), JSON.stringify({ name: 'empty-transport', version: '1.0.0', type: 'module', main: 'index.js', peerDependencies: { sonarhost: '^0.1.0' } }));
  await writeFile(
    join(empty, 'index.js'),
    "import { ContainerModule, definePlugin } from 'sonarhost/plugin-api';\n" +
      "export default definePlugin({ id: 'empty-transport', kind: 'device-transport', description: 'forgets to bind', module: new ContainerModule(() => {}) });\n",
  );
  const lacking = join(site, 'node_modules', 'lacking-transport');
  await mkdir(lacking);
  await writeFile(join(lacking, 'package.json'), JSON.stringify({ name: 'lacking-transport', version: '1.0.0', type: 'module', main: 'index.js', peerDependencies: { sonarhost: '^0.1.0' } }));
  await writeFile(
    join(lacking, 'index.js'),
    "import { ContainerModule, DeviceTransport, definePlugin, injectable } from 'sonarhost/plugin-api';\n" +
      "class LackingTransport { id = 'lacking-transport'; serves() { return false; } async deploy() {} }\n" +
      'injectable()(LackingTransport);\n' +
      "export default definePlugin({ id: 'lacking-transport', kind: 'device-transport', description: 'forgets locate', module: new ContainerModule(({ bind }) => { bind(DeviceTransport).to(LackingTransport).inSingletonScope(); }) });\n",
  );
  return site;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}
