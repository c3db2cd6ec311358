import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Page } from 'playwright-core';
import { API_TOKEN_FILE } from '../../src/core/access-token.js';
import { FlipperServerApiService } from '../../src/plugins/flipper-server-api/flipper-server-api-service.js';
import { type PrivateAdbServer, adbAvailable, startPrivateAdbServer } from '../helpers/fake-adb/adb-server.js';
import { FakeAndroidDevice } from '../helpers/fake-adb/fake-android-device.js';
import { makePng } from '../helpers/fake-adb/png-image.js';
import { type UiPage, type UiTraffic, openUiPage } from '../helpers/flipper-ui-page.js';
import { FLIPPER_SERVER_PREFIX, FLIPPER_SERVER_VERSION, ensureFlipperServer } from '../helpers/flipper-server.js';
import { accepts } from '../helpers/free-ports.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost } from '../helpers/test-host.js';

const MODEL = 'Fake Pixel UI';

/**
 * Issue 20's "done when", for Android: Flipper's real browser UI (flipper-server@0.162.0) in Debian's
 * Chromium against sonarhost with the android transport on a private real adb server (never port 5037)
 * and the fake device attached. The UI shows the device, its Logs plugin draws the lines the device's
 * logcat prints, and the UI's screenshot button gets the device's PNG from `device-take-screenshot`.
 */
describe(`Flipper's UI (flipper-server@${FLIPPER_SERVER_VERSION}) in headless Chromium with an Android device`, { skip: adbAvailable() ? false : 'adb is not installed (apt-get install adb; .ci/run does)' }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let adb: PrivateAdbServer | undefined;
  let device: FakeAndroidDevice | undefined;
  let host: TestHost | undefined;
  let ui: UiPage | undefined;
  let page: Page;
  let traffic: UiTraffic;
  let serial: string;

  /** Whether an adb server (the user's) listened on 5037 before the test: the test must not change that. */
  let defaultAdbRan: boolean;

  before(async () => {
    defaultAdbRan = await accepts(5037);
    const problem = await ensureFlipperServer();
    assert.equal(problem, undefined, `the test installs flipper-server@${FLIPPER_SERVER_VERSION} from npm: ${problem}`);
    ({ path: dir, cleanup } = await makeTempDir());
    adb = await startPrivateAdbServer();
    device = new FakeAndroidDevice({ model: MODEL });
    await device.start();
    device.screen = makePng(32, 18);
    serial = await device.attach(adb);
    host = await startTestHost(dir, (config) => {
      config.plugins.deviceTransports = ['android'];
      config.plugins.services = ['flipper-server-api'];
      config.flipperServer = { port: 0 };
      config.pluginOptions.android = { adbServerPort: adb!.port, startServer: false };
      // The UI package installed by the test, found as if it sat next to a config file.
      config.configDir = FLIPPER_SERVER_PREFIX;
    });
    ui = await openUiPage();
    ({ page, traffic } = ui);
  });
  after(async () => {
    await ui?.close();
    await host?.stop();
    await device?.stop();
    await adb?.stop();
    await cleanup?.();
  });

  it('loads and shows the Android device by its model', async () => {
    const token = (await readFile(join(host!.config.certDir, API_TOKEN_FILE), 'utf8')).trim();
    const port = host!.container.get(FlipperServerApiService).boundPort!;
    await page.goto(`http://localhost:${port}/?token=${token}`);
    await page.getByText('Looks fine').waitFor({ timeout: 60_000 });
    console.log(`# dialogs on first load: ${(await ui!.dismissDialogs()).join(', ')}`);
    await eventually(() => traffic.summary().some((s) => s.startsWith('device-list')), 'the UI to list devices', 60_000);
    await page.getByText(MODEL).first().waitFor({ timeout: 30_000 });
    const listed = traffic.idsAfter(0, 'device-list').flatMap((id) => (traffic.answers.get(id) ?? []) as Array<{ serial: string; title: string; os: string }>);
    assert.ok(listed.some((d) => d.serial === serial && d.title === MODEL && d.os === 'Android'), `device-list gave the fake device: ${JSON.stringify(listed)}`);
    await ui!.screenshot('flipper-ui-android-device.png');
  });

  it("draws the lines the device's logcat prints in the Logs plugin, as they come", async () => {
    // Logs is a device plugin for Android: listed under "Device", enabled by default.
    await page.locator('li[data-menu-id$="-DeviceLogs"]').first().click({ timeout: 30_000 });
    await eventually(() => device!.logcat.following > 0, 'logcat to run on the device while the UI is connected', 30_000);
    const lines = ['otters hold hands while asleep', 'a walrus tusk is a tooth'].map((text) => `${text} #${process.pid}`);
    device!.logcat.log({ level: 'W', tag: 'SonarUiTest', pid: 4242, tid: 4243, message: lines[0]!, date: new Date() });
    device!.logcat.log({ level: 'E', tag: 'SonarUiTest', pid: 4242, tid: 4244, message: lines[1]!, date: new Date() });
    for (const line of lines) await page.getByText(line, { exact: true }).first().waitFor({ timeout: 30_000 });
    // The row holds the tag and pid of the line too, in their own columns.
    const row = page.locator('[class*="TableBodyRowContainer"]', { hasText: lines[1]! }).first();
    const cells = await row.locator('[class*="TableBodyColumnContainer"]').allTextContents();
    assert.ok(cells.includes('SonarUiTest') && cells.includes('4242'), `the row shows tag and pid: ${cells.join(' | ')}`);
    assert.ok(traffic.serverEvents.includes('device-log'), 'the lines came as device-log events');
    await ui!.screenshot('flipper-ui-android-logs.png');
  });

  it("the UI's screenshot button gets the device's PNG through device-take-screenshot", async () => {
    const mark = traffic.lastId();
    await page.locator('button:has(.anticon-camera)').first().click({ timeout: 15_000 });
    const [id] = await eventually(() => {
      const ids = traffic.idsAfter(mark, 'device-take-screenshot');
      return ids.length > 0 && traffic.answered.has(ids[0]!) && ids;
    }, 'the UI to send device-take-screenshot and get its answer', 30_000);
    assert.equal(traffic.answered.get(id!), 'ok', JSON.stringify(traffic.answers.get(id!)));
    const png = Buffer.from(String(traffic.answers.get(id!)), 'base64');
    assert.ok(png.equals(device!.screen), `the answer is the device's PNG (${png.length} bytes)`);
    // The browser UI then saves the picture through the file-system bridge, which sonarhost refuses on
    // purpose (SECURITY.md): the UI says so in a toast instead of saving a file.
    await page.getByText(/Taking screenshot failed.*sonarhost refuses node-api-fs-writefile-binary/).first().waitFor({ timeout: 15_000 });
    await ui!.screenshot('flipper-ui-android-after-screenshot.png');
  });

  it('leaves no adb server running: neither the private one nor one on 5037', async () => {
    const port = adb!.port;
    await ui?.close();
    ui = undefined;
    await host?.stop();
    host = undefined;
    await device?.stop();
    device = undefined;
    await adb!.stop();
    adb = undefined;
    assert.equal(await accepts(port), false, `the private adb server on ${port} is gone`);
    assert.equal(await accepts(5037), defaultAdbRan, 'nothing started (or stopped) an adb server on 5037');
  });
});
