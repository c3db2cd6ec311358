import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HostError } from '../../../src/core/host-error.js';
import { FlipperUiInstall } from '../../../src/plugins/flipper-server-api/flipper-ui-install.js';
import { StaticFlipperUiFiles } from '../../../src/plugins/flipper-server-api/flipper-ui-files.js';
import { InstalledFlipperUi } from '../../../src/plugins/flipper-server-api/installed-flipper-ui.js';
import { type InstalledPluginDetails } from '../../../src/plugins/flipper-server-api/plugin-catalog.js';
import { FlipperUi } from '../../../bench/flipper-ui.js';
import { MemoryLogger } from '../../helpers/fakes.js';
import { FLIPPER_SERVER_PREFIX, FLIPPER_SERVER_VERSION, ensureFlipperServer, startFlipperServer } from '../../helpers/flipper-server.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const PACKAGE = join(FLIPPER_SERVER_PREFIX, 'node_modules', 'flipper-server');
const STATIC = join(PACKAGE, 'static');

/** A plugin package as `npm install flipper-plugin-…` leaves it: a spec-v2 package.json and its bundle. */
async function writePlugin(modules: string, name: string, pkg: Record<string, unknown>, bundle = `/* ${name} */`): Promise<void> {
  const dir = join(modules, name);
  await mkdir(join(dir, 'dist'), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ $schema: 'https://fbflipper.com/schemas/plugin-package/v2.json', name, version: '1.0.0', main: 'dist/bundle.js', keywords: ['flipper-plugin'], ...pkg }));
  await writeFile(join(dir, 'dist', 'bundle.js'), bundle);
}

/** An HTTP server in front of the files, answering 404 when they have no such file, as the endpoint does. */
async function serveFiles(files: { serve: StaticFlipperUiFiles['serve'] }): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    void files.serve(req, res, pathname).then((served) => void (served || res.writeHead(404).end('no such file')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A raw request whose path is sent exactly as written (fetch would normalise `..`). */
function rawGet(port: number, path: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe(`Flipper's UI from flipper-server@${FLIPPER_SERVER_VERSION}: files and plugin catalog`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let ui: InstalledFlipperUi;
  let logger: MemoryLogger;
  let web: { port: number; close: () => Promise<void> };
  let userModules: string;

  before(async () => {
    const problem = await ensureFlipperServer();
    assert.equal(problem, undefined, `the test installs flipper-server@${FLIPPER_SERVER_VERSION} from npm: ${problem}`);
    ({ path: dir, cleanup } = await makeTempDir());
    userModules = join(dir, 'config', 'node_modules');
    await writePlugin(userModules, 'flipper-plugin-otters', { id: 'Otters', title: 'Otters', peerDependencies: { 'flipper-plugin': '^0.162.0' } });
    await writePlugin(userModules, 'flipper-plugin-escape', { id: 'Escape', main: '../../../../etc/passwd' });
    await writePlugin(userModules, 'flipper-plugin-lib', { $schema: undefined, keywords: [] }); // a library, not a plugin
    logger = new MemoryLogger();
    ui = new InstalledFlipperUi({ certDir: join(dir, 'certs') }, logger, [
      { folder: join(dir, 'config'), label: "the config file's folder" },
      { folder: FLIPPER_SERVER_PREFIX, label: 'the test install' },
    ]);
    web = await serveFiles(ui.files);
  });
  after(async () => {
    await web?.close();
    await cleanup?.();
  });

  it('serves index.web.html at / and the UI files with their types, nosniff and an ETag', async () => {
    assert.equal(ui.files.missing, undefined);
    const index = await rawGet(web.port, '/');
    assert.equal(index.status, 200);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    assert.equal(index.body.toString(), readFileSync(join(STATIC, 'index.web.html'), 'utf8'));
    for (const [path, type] of [['/style.css', 'text/css; charset=utf-8'], ['/themes/light.css', 'text/css; charset=utf-8'], ['/icon.png', 'image/png']] as const) {
      const answer = await rawGet(web.port, path);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.headers['content-type'], type, path);
      assert.equal(answer.body.length, (await stat(join(STATIC, path))).size, path);
    }
  });

  it('answers HEAD for the 24 MB bundle.js without a body, and 304 when the browser has it', async () => {
    const size = (await stat(join(STATIC, 'bundle.js'))).size;
    assert.ok(size > 20_000_000);
    const head = await rawGet(web.port, '/bundle.js', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(size));
    assert.equal(head.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(head.headers['cache-control'], 'no-cache');
    assert.equal(head.body.length, 0);
    const again = await rawGet(web.port, '/bundle.js', { 'if-none-match': head.headers.etag! });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  it('serves nothing outside static/: .. and encoded .., backslashes, NUL, unknown types, other methods', async () => {
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/defaultPlugins/..%2f..%2fpackage.json', '/..%5cpackage.json', '/index.web.html%00.png', '/%', '/defaultPlugins', '/flipper-server-log.out', '/nope.js']) {
      const answer = await rawGet(web.port, path);
      assert.equal(answer.status, 404, path);
    }
    assert.equal((await rawGet(web.port, '/', {}, 'POST')).status, 404);
  });

  it('refuses a symlink inside static/ that points outside it, and serves one that stays inside', async () => {
    const fake = join(dir, 'fake', 'node_modules', 'flipper-server');
    await mkdir(join(fake, 'static', 'sub'), { recursive: true });
    await writeFile(join(fake, 'package.json'), JSON.stringify({ name: 'flipper-server', version: FLIPPER_SERVER_VERSION }));
    await writeFile(join(fake, 'static', 'index.web.html'), '<title>fake</title>');
    await writeFile(join(fake, 'secret.js'), 'secret');
    await symlink(join(fake, 'secret.js'), join(fake, 'static', 'escape.js'));
    await symlink(join(fake, 'static', 'index.web.html'), join(fake, 'static', 'sub', 'inside.html'));
    const files = new StaticFlipperUiFiles(new FlipperUiInstall([{ folder: join(dir, 'fake'), label: 'fake' }], dir, new MemoryLogger()));
    const server = await serveFiles(files);
    try {
      assert.equal((await rawGet(server.port, '/escape.js')).status, 404);
      assert.equal((await rawGet(server.port, '/sub/inside.html')).body.toString(), '<title>fake</title>');
    } finally {
      await server.close();
    }
  });

  it('says in one line what to install when the UI is missing, and finds it once installed, without a restart', async () => {
    const certDir = join(dir, 'missing-certs');
    const log = new MemoryLogger();
    const install = new FlipperUiInstall([{ folder: join(certDir, 'flipper-ui'), label: 'the default UI folder' }], certDir, log);
    const files = new StaticFlipperUiFiles(install);
    const line = files.missing!;
    assert.ok(!line.includes('\n'));
    assert.ok(line.includes(`npm install --prefix "${join(certDir, 'flipper-ui')}" flipper-server@0.162.0`), line);
    const server = await serveFiles(files);
    try {
      assert.equal((await rawGet(server.port, '/')).status, 404);
      const pkg = join(certDir, 'flipper-ui', 'node_modules', 'flipper-server');
      await mkdir(join(pkg, 'static'), { recursive: true });
      await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'flipper-server', version: '0.200.0' }));
      await writeFile(join(pkg, 'static', 'index.web.html'), '<title>now</title>');
      assert.equal(files.missing, undefined);
      assert.equal((await rawGet(server.port, '/')).body.toString(), '<title>now</title>');
      assert.ok(log.messages('warn').some((m) => m.includes('version 0.200.0') && m.includes('0.162.0')), 'another version is used but warned about');
    } finally {
      await server.close();
    }
  });

  it('lists the 19 default plugins with the ids apps report, and the user\'s flipper-plugin-* packages', async () => {
    const plugins = (await ui.plugins.dynamicPlugins()) as InstalledPluginDetails[];
    const ids = plugins.map((p) => p.id);
    for (const id of ['Network', 'Databases', 'Inspector', 'Sandbox', 'sea-mammals', 'DeviceLogs', 'CrashReporter', 'Preferences']) assert.ok(ids.includes(id), id);
    assert.equal(plugins.filter((p) => p.dir.startsWith(join(STATIC, 'defaultPlugins'))).length, 19);
    const network = plugins.find((p) => p.id === 'Network')!;
    assert.equal(network.entry, join(STATIC, 'defaultPlugins', 'flipper-plugin-network', 'dist', 'bundle.js'));
    assert.equal(network.isActivatable, true);
    assert.equal(network.isBundled, false);
    const otters = plugins.find((p) => p.id === 'Otters')!;
    assert.equal(otters.flipperSDKVersion, '^0.162.0');
    assert.ok(!ids.includes('Escape'), 'a plugin whose main points outside its folder is not listed');
    assert.ok(!ids.includes('flipper-plugin-lib'), 'a library named flipper-plugin-* is not a plugin');
    assert.deepEqual(((await ui.plugins.installedPlugins()) as InstalledPluginDetails[]).map((p) => p.id), ['Otters']);
    assert.ok(logger.messages('warn').some((m) => m.includes('flipper-plugin-escape') && m.includes('outside its own folder')));
  });

  it('lets an installed plugin replace the default one with the same id', async () => {
    await writePlugin(userModules, 'flipper-plugin-my-network', { id: 'Network', version: '9.9.9' }, 'mine');
    try {
      const networks = ((await ui.plugins.dynamicPlugins()) as InstalledPluginDetails[]).filter((p) => p.id === 'Network');
      assert.equal(networks.length, 1);
      assert.equal(networks[0]!.version, '9.9.9');
      assert.equal(await ui.plugins.source(networks[0]!.entry), 'mine');
    } finally {
      await import('node:fs/promises').then((fs) => fs.rm(join(userModules, 'flipper-plugin-my-network'), { recursive: true }));
    }
  });

  it('returns a listed plugin\'s bundle as a string, and refuses any other path', async () => {
    const plugins = (await ui.plugins.dynamicPlugins()) as InstalledPluginDetails[];
    const network = plugins.find((p) => p.id === 'Network')!;
    const source = await ui.plugins.source(network.entry);
    assert.equal(typeof source, 'string');
    assert.ok(source.startsWith('var __BUNDLE_START_TIME__'));
    assert.ok(source.includes("client.onMessage('newRequest'"));
    for (const path of ['/etc/passwd', join(network.dir, 'package.json'), `${network.dir}/dist/../dist/bundle.js`, join(STATIC, 'bundle.js')]) {
      await assert.rejects(ui.plugins.source(path), (error: unknown) => HostError.is(error) && /plugin-source serves only the bundles/.test(error.message), path);
    }
  });

  it('describes each default plugin exactly as the real flipper-server 0.162 does', async () => {
    const { path: home, cleanup: cleanHome } = await makeTempDir();
    const real = await startFlipperServer(home);
    let client: FlipperUi | undefined;
    try {
      const deadline = Date.now() + 60_000;
      while (!client) {
        client = await FlipperUi.connect(real.uiPort).catch((error: unknown) => {
          if (Date.now() > deadline) throw error;
          return new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 200));
        });
      }
      const theirs = (await client.exec('plugins-load-dynamic-plugins', [])) as InstalledPluginDetails[];
      const byId = (list: InstalledPluginDetails[]) => Object.fromEntries(list.map((p) => [p.id, p]));
      const ours = ((await ui.plugins.dynamicPlugins()) as InstalledPluginDetails[]).filter((p) => p.dir.startsWith(STATIC));
      assert.equal(theirs.length, 19);
      assert.deepEqual(JSON.parse(JSON.stringify(byId(ours))), byId(theirs));
      assert.deepEqual(await client.exec('plugins-get-installed-plugins', []), [], 'no user-installed plugins there either');
    } finally {
      client?.close();
      await real.stop();
      await cleanHome();
    }
  });
});
