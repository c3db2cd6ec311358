import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ClientRegistry } from '../../../src/core/client-registry.js';
import { DesktopDeviceTransport, desktopOs } from '../../../src/platforms/desktop/desktop-device-transport.js';
import { testConfig } from '../../helpers/fakes.js';

describe('desktop transport: this computer as a device', () => {
  it('is listed while a desktop app is connected, described as Flipper does (os, physical, no screenshots or logs)', async () => {
    const apps = [{ query: { os: 'Linux', app: 'Notes' } }, { query: { os: 'Android', app: 'Droid' } }];
    const registry = { list: () => apps } as unknown as ClientRegistry;
    const [computer, ...others] = await new DesktopDeviceTransport(testConfig(), registry).listDevices();
    assert.deepEqual(others, []);
    assert.equal(computer!.name, 'this computer');
    assert.deepEqual([computer!.os, computer!.deviceType, computer!.features], [desktopOs(process.platform), 'physical', { screenshot: false, logs: false }]);
    assert.equal(computer!.details.apps, 'Notes');
    apps.length = 0;
    assert.deepEqual(await new DesktopDeviceTransport(testConfig(), registry).listDevices(), []);
  });

  it('names the OS as the desktop SDKs do', () => {
    assert.deepEqual((['darwin', 'win32', 'linux', 'freebsd'] as NodeJS.Platform[]).map(desktopOs), ['MacOS', 'Windows', 'Linux', 'Linux']);
  });
});
