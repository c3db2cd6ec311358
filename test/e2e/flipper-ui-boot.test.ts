import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type * as http from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ContainerModule } from 'inversify';
import { type Browser, chromium } from 'playwright-core';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { FlipperServerApiService } from '../../src/plugins/flipper-server-api/flipper-server-api-service.js';
import { FlipperUiFiles } from '../../src/plugins/flipper-server-api/flipper-plugin-source.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { FLIPPER_SERVER_VERSION, ensureFlipperServer } from '../helpers/flipper-server.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, startTestHost } from '../helpers/test-host.js';

const CHROMIUM = '/usr/bin/chromium';
const STATIC = fileURLToPath(new URL(`../../../node_modules/.cache/sonarhost-interop/flipper-server-${FLIPPER_SERVER_VERSION}/node_modules/flipper-server/static/`, import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'application/javascript', '.css': 'text/css', '.png': 'image/png', '.json': 'application/json', '.svg': 'image/svg+xml' };

/** Test-only: the UI files straight from the flipper-server package the test installed (no plugins). */
const packageUiFiles: FlipperUiFiles = {
  staticDir: STATIC,
  missing: undefined,
  async serve(_req: http.IncomingMessage, res: http.ServerResponse, pathname: string) {
    const relative = pathname === '/' ? 'index.web.html' : normalize(decodeURIComponent(pathname)).replace(/^\/+/, '');
    const file = join(STATIC, relative);
    if (relative.startsWith('..') || !existsSync(file)) return false;
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
    return true;
  },
};

/**
 * Issue 20: Flipper's own 0.162 browser UI (from the flipper-server npm package, installed by the test)
 * boots on sonarhost's flipper-server API alone, logs in with the cookie and shows a connected app under
 * its device. Serving the UI and its plugins for users is the UI assets' job; this checks the API side.
 */
describe("Flipper 0.162's browser UI on sonarhost's flipper-server API", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let browser: Browser | undefined;
  let app: FlipperClient | undefined;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(
      dir,
      (config) => {
        config.plugins.services = ['flipper-server-api'];
        config.flipperServer = { port: 0 };
      },
      [new ContainerModule(({ rebind }) => void rebind(FlipperUiFiles).toConstantValue(packageUiFiles))],
    );
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await host.stop();
    await cleanup();
  });

  it('boots, asks for the app plugins, and lists the app under this computer', async () => {
    const problem = await ensureFlipperServer();
    assert.equal(problem, undefined, problem);
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is needed (apt-get install chromium; .ci/run does)`);
    app = new FlipperClient({
      appId: 'com.example.ui', appName: 'UI Boot App', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin()], reconnectMs: 50,
    });
    app.start();
    const port = host.container.get(FlipperServerApiService).boundPort!;
    const token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext();
    // Only loopback: the UI's update check (facebook.com) is blocked.
    await context.route('**/*', (route) => (['127.0.0.1', 'localhost', '[::1]'].includes(new URL(route.request().url()).hostname) ? route.continue() : route.abort()));
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const commands: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', (frame) => void commands.push(String((JSON.parse(String(frame.payload)) as { payload: { command: string } }).payload.command))));

    await page.goto(`http://localhost:${port}/?token=${token}`);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    await page.waitForFunction(() => document.body.innerText.includes('UI Boot App') && document.body.innerText.includes('this computer'), undefined, { timeout: 60_000 });
    for (const command of ['get-config', 'get-server-state', 'plugins-load-dynamic-plugins', 'device-list', 'client-list', 'client-request-response']) assert.ok(commands.includes(command), `${command} in ${commands.join(', ')}`);
    assert.deepEqual(errors.filter((e) => e !== 'Failed to fetch'), [], 'no page errors but the blocked update check');
  });
});
