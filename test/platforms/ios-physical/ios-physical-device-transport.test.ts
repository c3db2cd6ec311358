import assert from 'node:assert/strict';
import { readFile, readdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { CertificateExchangeMedium, type ClientQuery } from '../../../src/core/client-query.js';
import { type DeviceTransport, type ExchangeRequest } from '../../../src/core/device-transport.js';
import { type HostConfig } from '../../../src/core/host-config.js';
import { type ParsedCsr, createCsr, parseCsr } from '../../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../../src/core/x509/webcrypto.js';
import { IosPhysicalDeviceTransport } from '../../../src/platforms/ios-physical/ios-physical-device-transport.js';
import { CoreSimulatorDevices } from '../../../src/platforms/ios-simulator/core-simulator-devices.js';
import { IosSimulatorDeviceTransport } from '../../../src/platforms/ios-simulator/ios-simulator-device-transport.js';
import { MemoryLogger, testConfig } from '../../helpers/fakes.js';
import { type FakeIphone } from '../../helpers/fake-usbmux/fake-iphone.js';
import { FakeUsbWorld } from '../../helpers/fake-usbmux/fake-usb-world.js';
import { type PairingMaterial, createPairing, pairRecordPlist } from '../../helpers/fake-usbmux/pair-record.js';
import { freePorts } from '../../helpers/free-ports.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const PHONE = '/var/mobile/Containers/Data/Application/5B1E1C4A-2F7D-4E7B-9A51-0C9D1F7E2A11/Library/Application Support/sonar/';
const SIMULATOR = '/Users/me/Library/Developer/CoreSimulator/Devices/0F6C/data/Containers/Data/Application/77AB/Library/Application Support/sonar/';
const BUNDLE = 'com.example.phoneapp';
const UDID = '00008110-000A1B2C3D4E5F60';

const query = (device = "Ada's iPhone"): ClientQuery => ({ os: 'iOS', device, app: 'Example', deviceId: 'unknown', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS });
const request = (destination: string, csr: ParsedCsr, os = 'iOS'): ExchangeRequest => ({ query: { ...query(), os }, csr, destination });
const FILES = [
  { name: 'sonarCA.crt', contents: 'CA PEM\n' },
  { name: 'device.crt', contents: 'DEVICE PEM\n' },
] as const;

describe('the physical iOS transport', () => {
  const config = testConfig({ pluginOptions: { 'ios-simulator': { devicesRoot: '/Users/me/Library/Developer/CoreSimulator/Devices' } } });
  const placeholder = { appId: BUNDLE, pem: '' } as ParsedCsr;

  it('serves iOS destinations in device containers only, disjoint from the simulator transport', () => {
    const physical = new IosPhysicalDeviceTransport(config, new MemoryLogger(), undefined);
    const simulator = new IosSimulatorDeviceTransport(new CoreSimulatorDevices(config, new MemoryLogger()), config, new MemoryLogger());
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
      const served = { physical: physical.serves(request(destination, placeholder, os)), simulator: simulator.serves(request(destination, placeholder, os)) };
      assert.deepEqual(served, { physical: expected === 'physical', simulator: expected === 'simulator' }, `${os} ${destination}`);
    }
  });

  it('refuses destinations other than the container\'s sonar folder before touching any device', async () => {
    // No usbmuxd anywhere: a refusal that reached usbmuxd would say "usbmuxd is not running" instead.
    const physical = new IosPhysicalDeviceTransport(testConfig({ pluginOptions: { 'ios-physical': { usbmuxdSocket: 'unix:/nonexistent/usbmuxd' } } }), new MemoryLogger(), undefined);
    const refusals: Array<[string, RegExp]> = [
      ['/var/mobile/Containers/Data/Application/5B1E/Library/Application Support/sonar/../../Preferences/', /"\.\." segments/],
      ['/var/mobile/Containers/Data/Application/5B1E/Library/Application Support/sonar//', /segments/],
      ['/var/mobile/Containers/Data/Application/5B1E/Documents/', /not the SDK's certificate folder/],
      ['/var/mobile/Containers/Data/Application/5B1E/', /not the SDK's certificate folder/],
      ['/var/mobile/Containers/Shared/AppGroup/1234/Library/Application Support/sonar/', /not in an app's data container/],
    ];
    for (const [destination, message] of refusals) {
      await assert.rejects(physical.locate(request(destination, placeholder)), (error: Error & { kind?: string }) => {
        assert.equal(error.kind, 'destination-refused', destination);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  describe('through usbmuxd, lockdown, house_arrest and AFC (fakes)', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    let pairing: PairingMaterial;
    let otherPairing: PairingMaterial;
    let keys: CryptoKeyPair;
    let world: FakeUsbWorld;
    let transport: DeviceTransport;
    let phone: FakeIphone;
    let csrPem: string;
    let csr: ParsedCsr;

    before(async () => {
      ({ path: dir, cleanup } = await makeTempDir('sonarhost-iphone-'));
      [pairing, otherPairing, keys] = await Promise.all([createPairing(dir, 'pair'), createPairing(dir, 'other'), generateRsaKeyPair()]);
      csrPem = await createCsr(BUNDLE, keys);
      csr = await parseCsr(csrPem);
    });
    after(async () => cleanup());
    beforeEach(async () => {
      world = await FakeUsbWorld.start(await makeTempDir('sonarhost-usb-').then((t) => t.path));
      transport = new IosPhysicalDeviceTransport(configFor(world.usbmuxd.address), new MemoryLogger(), undefined);
      phone = world.phone(UDID, "Ada's iPhone", pairing);
    });
    afterEach(async () => world.stop());

    const configFor = (address: string): HostConfig => testConfig({ pluginOptions: { 'ios-physical': { usbmuxdSocket: address } } });

    it('finds the phone by app.csr in the vended container and writes both files under temporary names, then renames', async () => {
      const neighbour = world.phone('00008030-0000111122223333', "Bob's iPhone", otherPairing);
      await world.install(neighbour, BUNDLE, { csr: await createCsr(BUNDLE, await generateRsaKeyPair()) });
      world.usbmuxd.attach(neighbour);
      const installed = await world.install(phone, BUNDLE, { csr: csrPem });
      await world.install(phone, 'com.example.other', { csr: csrPem });
      world.usbmuxd.attach(phone);

      const target = await transport.locate(request(installed.destination, csr));
      assert.equal(target.deviceId, UDID);
      await transport.deploy(request(installed.destination, csr), target, FILES);

      assert.deepEqual((await readdir(installed.sonarFolder)).sort(), ['app.csr', 'device.crt', 'sonarCA.crt']);
      assert.equal(await readFile(join(installed.sonarFolder, 'sonarCA.crt'), 'utf8'), 'CA PEM\n');
      assert.equal(await readFile(join(installed.sonarFolder, 'device.crt'), 'utf8'), 'DEVICE PEM\n');
      const writes = phone.afcLog.filter((e) => e.startsWith('open w') || e.startsWith('rename'));
      assert.equal(writes.length, 4);
      for (const [index, name] of ['sonarCA.crt', 'device.crt'].entries()) {
        const temporary = /^open w (Library\/Application Support\/sonar\/\.[\w.]+\.tmp)$/.exec(writes[2 * index]!)?.[1];
        assert.ok(temporary?.includes(name), writes[2 * index]);
        assert.equal(writes[2 * index + 1], `rename ${temporary} -> Library/Application Support/sonar/${name}`);
      }
      assert.ok(phone.lockdownLog.includes('TLS'), 'the lockdown session was upgraded to TLS');
      assert.ok(!phone.afcLog.some((e) => /\.\./.test(e)), 'no path with ..');
      assert.ok(world.usbmuxd.connects.includes(62078), 'lockdownd was reached through usbmux Connect (port in network byte order)');
    });

    it('proves app.csr again before writing: a container changed since locate gets nothing', async () => {
      const installed = await world.install(phone, BUNDLE, { csr: csrPem });
      world.usbmuxd.attach(phone);
      const target = await transport.locate(request(installed.destination, csr));
      // Meanwhile the app was reinstalled with a new key: its folder holds another CSR.
      await writeFile(join(installed.sonarFolder, 'app.csr'), await createCsr(BUNDLE, await generateRsaKeyPair()));
      await assert.rejects(transport.deploy(request(installed.destination, csr), target, FILES), /differs from the CSR that was sent/);
      assert.deepEqual(await readdir(installed.sonarFolder), ['app.csr']);
      // Unplugged between locate and deploy: nothing is written either.
      await writeFile(join(installed.sonarFolder, 'app.csr'), csrPem);
      world.usbmuxd.detach(phone);
      await assert.rejects(transport.deploy(request(installed.destination, csr), target, FILES), /was unplugged while its certificates were being made; nothing was written/);
      assert.deepEqual(await readdir(installed.sonarFolder), ['app.csr']);
    });

    it('leaves Wi-Fi-only devices out and says when no phone is attached over USB', async () => {
      const wifi = world.phone(UDID, "Ada's iPhone", pairing, 'Network');
      const installed = await world.install(wifi, BUNDLE, { csr: csrPem });
      world.usbmuxd.attach(wifi);
      await assert.rejects(transport.locate(request(installed.destination, csr)), (error: Error & { kind?: string }) => {
        assert.equal(error.kind, 'device-not-found');
        assert.match(error.message, /No iPhone or iPad is attached over USB/);
        assert.match(error.message, /Connect the device with a cable/);
        return true;
      });
      assert.deepEqual(await transport.listDevices!(), []);
    });

    it('refuses an unpaired phone with how to pair', async () => {
      phone.paired = false;
      const installed = await world.install(phone, BUNDLE, { csr: csrPem });
      world.usbmuxd.attach(phone);
      await assert.rejects(transport.locate(request(installed.destination, csr)), (error: Error & { kind?: string }) => {
        assert.equal(error.kind, 'device-unavailable');
        assert.match(error.message, /not paired with this computer/);
        assert.match(error.message, /tap "Trust"/);
        assert.match(error.message, /idevicepair pair/);
        return true;
      });
      const [summary] = await transport.listDevices!();
      assert.equal(summary?.state, 'not-paired');
      assert.deepEqual([summary?.os, summary?.deviceType, summary?.features], ['iOS', 'physical', { screenshot: false, logs: false }]);
      assert.match(summary?.details.problem ?? '', /idevicepair pair/);
    });

    it('refuses a phone that no longer trusts the pairing, and one that is offered another host certificate', async () => {
      phone.trustsHost = false;
      const installed = await world.install(phone, BUNDLE, { csr: csrPem });
      world.usbmuxd.attach(phone);
      await assert.rejects(transport.locate(request(installed.destination, csr)), /no longer accepts this computer's pairing \(lockdownd answered InvalidHostID\).*pair again/);

      // The pair record's HostID is right but its certificate is not the one the phone stored: the TLS upgrade fails.
      phone.trustsHost = true;
      const forged = pairRecordPlist({ ...pairing, hostCertificate: otherPairing.hostCertificate, hostPrivateKey: otherPairing.hostPrivateKey });
      phone.pairRecord = () => forged;
      await assert.rejects(transport.locate(request(installed.destination, csr)), /no longer accepts this computer's pairing \(the TLS session with the pair record's certificate failed/);
      assert.ok(phone.lockdownLog.includes('TLS refused'));
    });

    it('refuses a locked phone with "unlock it"', async () => {
      phone.locked = true;
      const installed = await world.install(phone, BUNDLE, { csr: csrPem });
      world.usbmuxd.attach(phone);
      await assert.rejects(transport.locate(request(installed.destination, csr)), (error: Error & { kind?: string }) => {
        assert.equal(error.kind, 'device-unavailable');
        assert.match(error.message, /is locked \(lockdownd refused to start com\.apple\.mobile\.house_arrest: PasswordProtected\)/);
        assert.match(error.message, /Unlock it/);
        return true;
      });
      const [summary] = await transport.listDevices!();
      assert.equal(summary?.state, 'locked');
      phone.locked = false;
      assert.equal((await transport.listDevices!())[0]?.state, 'ready');
    });

    it('refuses an app that is not development-signed (InstallationLookupFailed)', async () => {
      const installed = await world.install(phone, BUNDLE, { csr: csrPem, developmentSigned: false });
      world.usbmuxd.attach(phone);
      await assert.rejects(transport.locate(request(installed.destination, csr)), (error: Error & { kind?: string }) => {
        assert.equal(error.kind, 'device-not-found');
        assert.match(error.message, /InstallationLookupFailed/);
        assert.match(error.message, /not development-signed/);
        assert.match(error.message, /Install a development build/);
        return true;
      });
      assert.deepEqual(await readdir(installed.sonarFolder), ['app.csr']);
    });

    it('refuses, writing nothing, a container whose app.csr is missing, differs, or is a link', async () => {
      const installed = await world.install(phone, BUNDLE, { csr: await createCsr(BUNDLE, await generateRsaKeyPair()) });
      world.usbmuxd.attach(phone);
      await assert.rejects(transport.locate(request(installed.destination, csr)), /differs from the CSR that was sent/);
      await unlink(join(installed.sonarFolder, 'app.csr'));
      await assert.rejects(transport.locate(request(installed.destination, csr)), /holds no Library\/Application Support\/sonar\/app\.csr/);
      const elsewhere = join(dir, 'elsewhere.csr');
      await writeFile(elsewhere, csrPem);
      await symlink(elsewhere, join(installed.sonarFolder, 'app.csr'));
      await assert.rejects(transport.locate(request(installed.destination, csr)), /not a regular file \(S_IFLNK\)/);
      assert.deepEqual(await readdir(installed.sonarFolder), ['app.csr']);
      assert.ok(!phone.afcLog.some((e) => e.startsWith('open w')));
    });

    it('says that usbmuxd is not running when its socket is missing or refuses, and doctor warns', async () => {
      const [closed] = await freePorts(1);
      for (const address of [`unix:${join(dir, 'no-such-usbmuxd')}`, `127.0.0.1:${closed}`]) {
        const offline = new IosPhysicalDeviceTransport(configFor(address), new MemoryLogger(), undefined);
        await assert.rejects(offline.locate(request(PHONE, csr)), (error: Error & { kind?: string }) => {
          assert.equal(error.kind, 'device-unavailable');
          assert.match(error.message, /usbmuxd is not running \((there is no usbmuxd socket at|nothing accepts connections at)/);
          assert.match(error.message, /apt install usbmuxd/);
          assert.match(error.message, /USBMUXD_SOCKET_ADDRESS/);
          return true;
        });
        await assert.rejects(offline.listDevices!(), /usbmuxd is not running/);
        const [check] = await offline.check!();
        assert.equal(check?.status, 'warn');
        assert.match(check?.detail ?? '', /usbmuxd is not running/);
      }
    });

    it('lists attached phones with name, model, iOS version and state, and doctor checks each', async () => {
      await world.install(phone, BUNDLE, { csr: csrPem });
      world.usbmuxd.attach(phone);
      const unpaired = world.phone('00008030-0000111122223333', "Bob's iPhone", otherPairing);
      unpaired.paired = false;
      world.usbmuxd.attach(unpaired);
      const list = await transport.listDevices!();
      assert.deepEqual(
        list.map((d) => [d.id, d.name, d.state, d.details.model, d.details.iOS]),
        [
          [UDID, "Ada's iPhone", 'ready', 'iPhone14,5', '17.5.1'],
          ['00008030-0000111122223333', 'iPhone or iPad', 'not-paired', undefined, undefined],
        ],
      );
      const checks = await transport.check!();
      assert.deepEqual(checks.map((c) => c.status), ['ok', 'ok', 'warn']);
      assert.match(checks[0]!.detail, /2 attached over USB/);
      assert.match(checks[2]!.fix ?? '', /Trust/);
    });
  });
});
