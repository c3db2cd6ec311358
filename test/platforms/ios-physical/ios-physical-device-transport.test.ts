import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CertificateExchangeMedium, type ClientQuery } from '../../../src/core/client-query.js';
import { type ExchangeRequest } from '../../../src/core/device-transport.js';
import { type ParsedCsr } from '../../../src/core/x509/csr.js';
import { IosPhysicalDeviceTransport } from '../../../src/platforms/ios-physical/ios-physical-device-transport.js';
import { CoreSimulatorDevices } from '../../../src/platforms/ios-simulator/core-simulator-devices.js';
import { IosSimulatorDeviceTransport } from '../../../src/platforms/ios-simulator/ios-simulator-device-transport.js';
import { MemoryLogger, testConfig } from '../../helpers/fakes.js';

const PHONE = '/var/mobile/Containers/Data/Application/5B1E1C4A-2F7D-4E7B-9A51-0C9D1F7E2A11/Library/Application Support/sonar/';
const SIMULATOR = '/Users/me/Library/Developer/CoreSimulator/Devices/0F6C/data/Containers/Data/Application/77AB/Library/Application Support/sonar/';

const request = (destination: string, os = 'iOS'): ExchangeRequest => ({
  query: { os, device: "Ada's iPhone", app: 'Example', deviceId: 'unknown', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS } satisfies ClientQuery,
  csr: { appId: 'com.example.app', pem: '' } as ParsedCsr,
  destination,
});

describe('the physical iOS transport', () => {
  const physical = new IosPhysicalDeviceTransport();
  const config = testConfig({ pluginOptions: { 'ios-simulator': { devicesRoot: '/Users/me/Library/Developer/CoreSimulator/Devices' } } });
  const simulator = new IosSimulatorDeviceTransport(new CoreSimulatorDevices(config, new MemoryLogger()), config, new MemoryLogger());

  it('serves iOS destinations in device containers only, disjoint from the simulator transport', () => {
    const cases: Array<[string, string, 'physical' | 'simulator' | 'neither']> = [
      [PHONE, 'iOS', 'physical'],
      ['/private' + PHONE, 'iOS', 'physical'],
      ['/var/mobile/Containers/Shared/AppGroup/1234/sonar/', 'iOS', 'physical'],
      [SIMULATOR, 'iOS', 'simulator'],
      [PHONE, 'Android', 'neither'],
      ['/var/mobile/Containers/../../../etc/', 'iOS', 'neither'],
      ['/var/mobile/Library/sonar/', 'iOS', 'neither'],
      ['var/mobile/Containers/x/', 'iOS', 'neither'],
    ];
    for (const [destination, os, expected] of cases) {
      const served = { physical: physical.serves(request(destination, os)), simulator: simulator.serves(request(destination, os)) };
      assert.deepEqual(served, { physical: expected === 'physical', simulator: expected === 'simulator' }, `${os} ${destination}`);
    }
  });

  it('refuses with what is missing, that simulators work, and how to plug in a transport', async () => {
    await assert.rejects(physical.locate(request(PHONE)), (error: Error & { kind?: string }) => {
      assert.equal(error.kind, 'exchange-unsupported');
      for (const part of [/Physical iOS devices are not supported/, /usbmux\/idb channel/, /simulators on this Mac work/, /plugins\.deviceTransports/, /module path/, /"Plugins" in the README/, /Ada's iPhone/]) {
        assert.match(error.message, part);
      }
      return true;
    });
    await assert.rejects(physical.deploy(request(PHONE)), { kind: 'exchange-unsupported' });
  });
});
