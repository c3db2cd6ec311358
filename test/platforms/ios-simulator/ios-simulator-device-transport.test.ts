import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { CertificateExchangeMedium, type ClientQuery } from '../../../src/core/client-query.js';
import { type DeviceFile, type ExchangeRequest } from '../../../src/core/device-transport.js';
import { HostError } from '../../../src/core/host-error.js';
import { createCsr, parseCsr, type ParsedCsr } from '../../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../../src/core/x509/webcrypto.js';
import { CoreSimulatorDevices } from '../../../src/platforms/ios-simulator/core-simulator-devices.js';
import { IosSimulatorDeviceTransport } from '../../../src/platforms/ios-simulator/ios-simulator-device-transport.js';
import { CoreSimulatorFixture, snapshotTree, sonarFolder } from '../../helpers/coresimulator-fixture.js';
import { MemoryLogger, testConfig } from '../../helpers/fakes.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const APP = 'com.example.app';
const OTHER = 'com.example.other';
const FILES: DeviceFile[] = [
  { name: 'sonarCA.crt', contents: 'CA CERTIFICATE\n' },
  { name: 'device.crt', contents: 'DEVICE CERTIFICATE\n' },
];

const query = (overrides: Partial<ClientQuery> = {}): ClientQuery => ({
  os: 'iOS', device: 'iPhone 15 Simulator', app: 'Example', deviceId: 'unknown', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS, ...overrides,
});

describe('the iOS simulator transport', () => {
  let csrs: Record<string, ParsedCsr>;
  let dir: string;
  let cleanup: () => Promise<void>;
  let sims: CoreSimulatorFixture;
  let udid: string;
  /** com.example.app's data container, and com.example.other's on the same simulator. */
  let mine: string;
  let theirs: string;
  let outside: string;
  let transport: IosSimulatorDeviceTransport;

  const request = (destination: string, appId = APP, overrides: Partial<ClientQuery> = {}): ExchangeRequest => ({ query: query(overrides), csr: csrs[appId]!, destination });
  const transportFor = (devicesRoot: string) =>
    new IosSimulatorDeviceTransport(
      new CoreSimulatorDevices(testConfig({ pluginOptions: { 'ios-simulator': { devicesRoot } } }), new MemoryLogger()),
      testConfig(),
      new MemoryLogger(),
    );
  /** What the exchange does with a transport: locate, then deploy. */
  const exchange = async (req: ExchangeRequest) => {
    const target = await transport.locate(req);
    await transport.deploy(req, target, FILES);
    return target;
  };
  /** A folder holding the app's CSR as app.csr, as an app (or someone imitating it) would leave it. */
  const plantCsr = async (folder: string, appId = APP) => {
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'app.csr'), csrs[appId]!.pem.replace(/\n/g, '\r\n') + '\r\n');
  };
  const refusedWithoutWriting = async (req: ExchangeRequest, message: RegExp, kind = 'destination-refused') => {
    const before = await snapshotTree(dir);
    await assert.rejects(exchange(req), (error: unknown) => {
      assert.ok(HostError.is(error), String(error));
      assert.equal(error.kind, kind);
      assert.match(error.message, message);
      return true;
    });
    assert.deepEqual(await snapshotTree(dir), before, 'nothing was written anywhere');
  };

  before(async () => {
    const keys = await generateRsaKeyPair();
    csrs = {};
    for (const appId of [APP, OTHER, 'com.example.absent']) csrs[appId] = await parseCsr(await createCsr(appId, keys));
  });

  beforeEach(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-iossim-'));
    sims = await CoreSimulatorFixture.create(join(dir, 'Devices'));
    udid = await sims.addSimulator({ name: 'iPhone 15', runtime: 'iOS-17-2', state: 'Booted' });
    await sims.addSimulator({ name: 'iPhone SE (3rd generation)', runtime: 'iOS-16-4', state: 'Shutdown', format: 'xml' });
    mine = await sims.addApp(udid, APP, 'binary');
    theirs = await sims.addApp(udid, OTHER, 'xml');
    await plantCsr(sonarFolder(mine));
    outside = join(dir, 'outside');
    await plantCsr(outside);
    transport = transportFor(sims.root);
  });
  afterEach(() => cleanup());

  it('writes the files into the app container folder and answers the simulator UDID', async () => {
    const target = await exchange(request(sonarFolder(mine)));
    assert.equal(target.deviceId, udid);
    const folder = sonarFolder(mine);
    assert.deepEqual((await readdir(folder)).sort(), ['app.csr', 'device.crt', 'sonarCA.crt'], 'no temporary file is left');
    assert.equal(await readFile(join(folder, 'sonarCA.crt'), 'utf8'), 'CA CERTIFICATE\n');
    assert.equal(await readFile(join(folder, 'device.crt'), 'utf8'), 'DEVICE CERTIFICATE\n');
  });

  it('lists the simulators with the apps that completed an exchange while the host runs', async () => {
    const before = await transport.listDevices();
    assert.deepEqual(
      before.map((d) => [d.name, d.state, d.details]),
      [
        ['iPhone 15', 'Booted', { runtime: 'iOS 17.2', deviceType: 'iPhone 15' }],
        ['iPhone SE (3rd generation)', 'Shutdown', { runtime: 'iOS 16.4', deviceType: 'iPhone SE (3rd generation)' }],
      ],
    );
    assert.equal(before[0]!.transport, 'ios-simulator');
    assert.deepEqual([before[0]!.os, before[0]!.deviceType, before[0]!.features], ['iOS', 'emulator', { screenshot: false, logs: false }]);
    assert.equal(before[0]!.id, udid);
    await exchange(request(sonarFolder(mine)));
    await plantCsr(sonarFolder(theirs), OTHER);
    await exchange(request(sonarFolder(theirs), OTHER));
    assert.equal((await transport.listDevices())[0]!.details.apps, `${APP}, ${OTHER}`);
  });

  it('follows a devices root that is itself a symbolic link', async () => {
    const linked = join(dir, 'linked-root');
    await symlink(sims.root, linked);
    transport = transportFor(linked);
    const destination = sonarFolder(mine).replace(sims.root, linked);
    assert.equal(transport.serves(request(destination)), true);
    assert.equal((await exchange(request(destination))).deviceId, udid);
  });

  it('serves os iOS with a destination under the devices root, and nothing else', () => {
    const serves = (destination: string, overrides: Partial<ClientQuery> = {}) => transport.serves(request(destination, APP, overrides));
    assert.equal(serves(sonarFolder(mine)), true);
    assert.equal(serves(sonarFolder(mine), { os: 'Android' }), false);
    assert.equal(serves(sonarFolder(mine), { os: 'MacOS' }), false);
    assert.equal(serves('/var/mobile/Containers/Data/Application/0F0E/Library/Application Support/sonar/'), false, 'a physical device path');
    assert.equal(serves(outside + '/'), false);
    assert.equal(serves(`${sims.root}/../outside/`), false, 'normalised before the check');
    assert.equal(serves(`${sims.root}-evil/x/`), false, 'a sibling sharing the prefix');
    assert.equal(serves('Library/Application Support/sonar/'), false, 'a relative path');
  });

  describe('refuses, writing nothing anywhere,', () => {
    it('a destination outside the devices root', async () => {
      await refusedWithoutWriting(request(outside + '/'), /not inside an app's data container/);
    });

    it('a destination in another app\'s container, pointing at the right one', async () => {
      await plantCsr(sonarFolder(theirs));
      await refusedWithoutWriting(request(sonarFolder(theirs)), new RegExp(`data container of ${OTHER}, but the CSR names ${APP}.*The container of ${APP} on iPhone 15 is ${mine}`));
    });

    it('a CN that does not match the bundle id of the container', async () => {
      await plantCsr(sonarFolder(mine), 'com.example.absent');
      await refusedWithoutWriting(request(sonarFolder(mine), 'com.example.absent'), /data container of com\.example\.app, but the CSR names com\.example\.absent.*has no data container on iPhone 15/);
    });

    it('climbing out of the root with ..', async () => {
      await refusedWithoutWriting(request(join(mine, 'Library') + '/../../../../../../../../outside/'), /not inside an app's data container/);
      // Not served (it normalises to outside the root), and refused all the same if asked.
      await refusedWithoutWriting(request(`${sims.root}/${udid}/../../outside/`), /resolves to .*outside, which is not inside/);
    });

    it('climbing from one container into another with ..', async () => {
      await plantCsr(sonarFolder(theirs));
      const uuid = theirs.split('/').pop()!;
      await refusedWithoutWriting(request(`${sonarFolder(mine)}../../../../${uuid}/Library/Application Support/sonar/`), /data container of com\.example\.other/);
    });

    it('climbing out of the container to the simulator\'s data folder with ..', async () => {
      await plantCsr(join(sims.root, udid, 'data'));
      await refusedWithoutWriting(request(`${sonarFolder(mine)}../../../../../../`), /not inside an app's data container/);
    });

    it('escaping through a symbolic link, out of the root or into another container', async () => {
      await rm(sonarFolder(mine), { recursive: true });
      await symlink(outside, sonarFolder(mine).slice(0, -1));
      await refusedWithoutWriting(request(sonarFolder(mine)), /resolves to .*outside, which is not inside/);

      await plantCsr(join(theirs, 'Documents'));
      await rm(sonarFolder(mine).slice(0, -1)); // the link itself, not what it points to
      await symlink(join(theirs, 'Documents'), sonarFolder(mine).slice(0, -1));
      await refusedWithoutWriting(request(sonarFolder(mine)), /data container of com\.example\.other/);
    });

    it('an app.csr that is a symbolic link to someone else\'s', async () => {
      await rm(join(sonarFolder(mine), 'app.csr'));
      await symlink(join(outside, 'app.csr'), join(sonarFolder(mine), 'app.csr'));
      await refusedWithoutWriting(request(sonarFolder(mine)), /no readable app\.csr .*symbolic link/);
    });

    it('a folder without app.csr', async () => {
      await rm(join(sonarFolder(mine), 'app.csr'));
      await refusedWithoutWriting(request(sonarFolder(mine)), /holds no readable app\.csr/);
    });

    it('an app.csr that differs from the CSR sent', async () => {
      await plantCsr(sonarFolder(mine), OTHER);
      await refusedWithoutWriting(request(sonarFolder(mine)), /app\.csr in .* differs from the CSR that was sent/);
    });

    it('a destination that does not exist', async () => {
      await refusedWithoutWriting(request(join(mine, 'Library', 'nope') + '/'), /not an existing folder on this Mac/);
    });

    it('a container without owner metadata, and a folder that is no simulator', async () => {
      await rm(join(mine, '.com.apple.mobile_container_manager.metadata.plist'));
      await refusedWithoutWriting(request(sonarFolder(mine)), /cannot tell which app owns it/);

      const fake = join(sims.root, 'NOT-A-SIMULATOR', 'data', 'Containers', 'Data', 'Application', 'X');
      await plantCsr(join(fake, 'sonar'));
      await refusedWithoutWriting(request(join(fake, 'sonar') + '/'), /has no readable device\.plist/);
    });

    it('a relative destination, and a devices root that does not exist', async () => {
      await refusedWithoutWriting(request('Library/Application Support/sonar/'), /not an absolute path/);
      transport = transportFor(join(dir, 'no-such-root'));
      await refusedWithoutWriting(request(sonarFolder(mine)), /devicesRoot/, 'device-unavailable');
    });

    it('a folder swapped for a link between locate and deploy', async () => {
      const req = request(sonarFolder(mine));
      const target = await transport.locate(req);
      await rename(join(mine, 'Library'), join(mine, 'Library-moved'));
      await symlink(outside, join(mine, 'Library'));
      const before = await snapshotTree(dir);
      await assert.rejects(transport.deploy(req, target, FILES), { kind: 'destination-refused', message: /changed while its certificates were being made/ });
      assert.deepEqual(await snapshotTree(dir), before);
    });
  });
});
