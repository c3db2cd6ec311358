import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { SETUP, rawExchange } from '../helpers/raw-rsocket.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withApi } from '../helpers/test-host.js';

const CHROMIUM = '/usr/bin/chromium';

/** The dashboard in a real browser (Debian's Chromium driven by playwright-core), against a running host. */
describe('the dashboard in headless Chromium', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let browser: Browser | undefined;
  const clients: FlipperClient[] = [];
  const connect = (name: string, device = 'box') => {
    const client = new FlipperClient({
      appId: `com.example.${name}`, appName: `Dash ${name}`, os: 'Linux', device, stateDir: join(dir, name, 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [demoPlugin()], reconnectMs: 50,
    });
    clients.push(client);
    client.start();
    return client;
  };

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, (config) => {
      withApi(config);
      // iPhones on a machine without usbmuxd: the Devices card must show the one-line state, not the
      // whole how-to (which `doctor` and the log give).
      config.plugins.deviceTransports = ['desktop', 'ios-physical'];
      config.pluginOptions['ios-physical'] = { usbmuxdSocket: `unix:${join(dir, 'no-usbmuxd.sock')}` };
    });
  });
  after(async () => {
    await browser?.close();
    for (const client of clients) await client.stop();
    await host.stop();
    await cleanup();
  });

  it('shows a connected client and a failed exchange, and updates live', async (t) => {
    if (!existsSync(CHROMIUM)) {
      console.log(`# SKIP dashboard browser test: ${CHROMIUM} is missing (apt-get install chromium; .ci/run does)`);
      t.skip('chromium is not installed');
      return;
    }
    const first = connect('first');
    await eventually(() => host.registry.list().length === 1, 'the first client');
    first.send('demo', 'early', { before: 'the page' });
    await rawExchange(host.ports.insecure, SETUP({ app: 'Broken App' }), JSON.stringify({ method: 'signCertificate', csr: 'not a csr', destination: '/tmp/', medium: 1 })).catch(() => undefined);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    // A common laptop window: every card must fit it without scrolling sideways.
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const failedRequests: string[] = [];
    page.on('response', (response) => void (response.status() >= 400 && failedRequests.push(`${response.status()} ${response.url()}`)));
    const token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
    await page.goto(`http://127.0.0.1:${host.apiPort}/#token=${token}`);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'live', undefined, { timeout: 15_000 });

    assert.match((await page.textContent('#clients'))!, /Dash first/);
    const exchanges = (await page.textContent('#exchanges'))!;
    assert.match(exchanges, /Broken App/);
    assert.match(exchanges, /failed: The CSR is not a PEM certificate request/);
    assert.match(exchanges, /ok → deviceId "" via desktop/);
    assert.match((await page.textContent('#certificates'))!, /CN=SonarCA/);
    assert.equal(await page.evaluate(() => location.hash), '', 'the token is taken out of the address bar');

    connect('second');
    // Ids with no place to break (80 characters of app name, a 60-character device): the cards must wrap them.
    connect('L'.repeat(74), 'D'.repeat(60));
    await page.waitForFunction(() => /L{74}/.test(document.querySelector('#clients')?.textContent ?? ''), undefined, { timeout: 15_000 });
    await page.waitForFunction(() => /Dash second/.test(document.querySelector('#clients')?.textContent ?? ''), undefined, { timeout: 15_000 });
    clients[0]!.send('demo', 'tick', { n: 42 });
    await page.waitForFunction(() => /demo\.tick\s+\{"n":42\}/.test(document.querySelector('#log')?.textContent ?? ''), undefined, { timeout: 15_000 });

    // Events from before the page opened come from the host's ring, shown greyed.
    assert.match((await page.textContent('#log'))!, /demo\.early\s+\{"before":"the page"\}/);
    const greyed = await page.$$eval('#log .recent', (lines) => lines.map((l) => l.textContent ?? ''));
    assert.ok(greyed.some((l) => /demo\.early/.test(l)), `the early event is marked as recent: ${JSON.stringify(greyed)}`);
    // A desktop app is connected, so this computer is listed as a device.
    await page.waitForFunction(() => /this computer\s*connected/.test(document.querySelector('#devices')?.textContent ?? ''), undefined, { timeout: 15_000 });

    // Call a plugin method from the form: the answer, then an app's error.
    await page.selectOption('#call-client', 'Dash%20first#Linux#box#');
    await page.fill('#call-plugin', 'demo');
    await page.fill('#call-method', 'echo');
    await page.fill('#call-params', '{"hello": "from the dashboard"}');
    await page.click('#call-send');
    await page.waitForFunction(() => /"hello": "from the dashboard"/.test(document.querySelector('#call-result')?.textContent ?? ''), undefined, { timeout: 15_000 });
    assert.equal(await page.getAttribute('#call-result', 'class'), 'ok');
    await page.fill('#call-method', 'fail');
    await page.fill('#call-params', '');
    await page.click('#call-send');
    await page.waitForFunction(() => /app-error: .*asked to fail/s.test(document.querySelector('#call-result')?.textContent ?? ''), undefined, { timeout: 15_000 });
    assert.equal(await page.getAttribute('#call-result', 'class'), 'fail');
    await page.fill('#call-params', '{not json');
    await page.click('#call-send');
    await page.waitForFunction(() => /params are not JSON/.test(document.querySelector('#call-result')?.textContent ?? ''), undefined, { timeout: 15_000 });

    // Filter the log by client and by plugin.
    clients[1]!.send('demo', 'tock', { from: 'second' });
    await page.waitForFunction(() => /demo\.tock/.test(document.querySelector('#log')?.textContent ?? ''), undefined, { timeout: 15_000 });
    await page.selectOption('#filter-client', 'Dash%20first#Linux#box#');
    let shown = (await page.textContent('#log'))!;
    assert.match(shown, /demo\.tick/);
    assert.doesNotMatch(shown, /demo\.tock/);
    await page.selectOption('#filter-client', '');
    await page.fill('#filter-plugin', 'other');
    shown = (await page.textContent('#log'))!;
    assert.doesNotMatch(shown, /demo\./);
    await page.fill('#filter-plugin', 'demo');
    assert.match((await page.textContent('#log'))!, /demo\.tock/);

    // Ids are shown as the app named itself, not percent-encoded as they travel.
    await page.fill('#filter-plugin', '');
    const logText = (await page.textContent('#log'))!;
    assert.match(logText, /connected: Dash first#Linux#box#/);
    assert.doesNotMatch(logText, /Dash%20first/);
    const devices = (await page.textContent('#devices'))!;
    assert.match(devices, /usbmuxd is not running: iPhones and iPads over USB are off/);
    assert.doesNotMatch(devices, /USBMUXD_SOCKET_ADDRESS/, 'the Devices card shows the brief state, not the how-to');
    const fit = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth }));
    assert.ok(fit.scrollWidth <= fit.innerWidth, `the page fits 1280 px without scrolling sideways: ${JSON.stringify(fit)}`);
    const sideways = await page.$$eval('section', (sections) => sections.filter((s) => s.scrollWidth > s.clientWidth + 1).map((s) => `${s.querySelector('h2')?.textContent}: ${s.scrollWidth} > ${s.clientWidth}`));
    assert.deepEqual(sideways, [], 'no card scrolls sideways at 1280 px');

    assert.deepEqual(failedRequests, [], 'no request failed (no favicon 404)');
    await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
    if (process.env.SONARHOST_KEEP_SCREENSHOT) await page.screenshot({ path: process.env.SONARHOST_KEEP_SCREENSHOT, fullPage: true });
  });
});
