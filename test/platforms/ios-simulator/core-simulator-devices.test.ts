import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CoreSimulatorDevices } from '../../../src/platforms/ios-simulator/core-simulator-devices.js';
import { readPlistFile } from '../../../src/platforms/ios-simulator/plist-file.js';
import { devicesRootOf } from '../../../src/platforms/ios-simulator/simulator-paths.js';
import { deviceTypeLabel, runtimeLabel } from '../../../src/platforms/ios-simulator/simulator-labels.js';
import { CoreSimulatorFixture, writePlist } from '../../helpers/coresimulator-fixture.js';
import { MemoryLogger, testConfig } from '../../helpers/fakes.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const PLISTUTIL = '/usr/bin/plistutil';
const run = promisify(execFile);

describe('CoreSimulator discovery', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let sims: CoreSimulatorFixture;
  let logger: MemoryLogger;
  let devices: CoreSimulatorDevices;

  beforeEach(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-coresim-'));
    sims = await CoreSimulatorFixture.create(join(dir, 'Devices'));
    logger = new MemoryLogger();
    devices = new CoreSimulatorDevices(testConfig({ pluginOptions: { 'ios-simulator': { devicesRoot: sims.root } } }), logger);
  });
  afterEach(() => cleanup());

  it('lists simulators of several runtimes, booted and shut down, from binary and XML device.plist files', async () => {
    const a = await sims.addSimulator({ name: 'iPhone 15', runtime: 'iOS-17-2', state: 'Booted', format: 'binary' });
    const b = await sims.addSimulator({ name: 'iPad Air (5th generation)', runtime: 'iOS-16-4', state: 'Shutdown', format: 'xml', deviceType: 'com.apple.CoreSimulator.SimDeviceType.iPad-Air--5th-generation-' });
    const c = await sims.addSimulator({ name: 'Apple Watch Series 9 (45mm)', runtime: 'watchOS-10-2', state: 'Shutdown', format: 'binary' });
    const d = await sims.addSimulator({ name: 'iPhone SE (3rd generation)', runtime: 'iOS-17-2', state: 'Booted', format: 'xml' });

    const list = await devices.list();
    assert.deepEqual(
      list.map((s) => [s.name, s.udid, s.runtime, s.state]),
      [
        ['Apple Watch Series 9 (45mm)', c, 'com.apple.CoreSimulator.SimRuntime.watchOS-10-2', 'Shutdown'],
        ['iPad Air (5th generation)', b, 'com.apple.CoreSimulator.SimRuntime.iOS-16-4', 'Shutdown'],
        ['iPhone 15', a, 'com.apple.CoreSimulator.SimRuntime.iOS-17-2', 'Booted'],
        ['iPhone SE (3rd generation)', d, 'com.apple.CoreSimulator.SimRuntime.iOS-17-2', 'Booted'],
      ],
    );
    assert.equal(list[2]!.folder, join(sims.root, a));
    assert.equal(list[1]!.deviceType, 'com.apple.CoreSimulator.SimDeviceType.iPad-Air--5th-generation-');
    assert.deepEqual(logger.messages('warn'), []);
  });

  it('skips a device folder with a broken or foreign device.plist with one warning each, and keeps the others', async () => {
    const good = await sims.addSimulator({ name: 'iPhone 15', runtime: 'iOS-17-2', state: 'Booted' });
    const truncated = await sims.addSimulator({ name: 'Truncated', runtime: 'iOS-17-2', state: 'Booted', format: 'binary' });
    const plistPath = join(sims.root, truncated, 'device.plist');
    await writeFile(plistPath, (await readFile(plistPath)).subarray(0, 40));
    const garbage = await sims.addSimulator({ name: 'Garbage', runtime: 'iOS-17-2', state: 'Booted' });
    await writeFile(join(sims.root, garbage, 'device.plist'), 'not a plist at all');
    const empty = await sims.addSimulator({ name: 'Empty', runtime: 'iOS-17-2', state: 'Booted' });
    await writeFile(join(sims.root, empty, 'device.plist'), '');
    const array = await sims.addSimulator({ name: 'Array', runtime: 'iOS-17-2', state: 'Booted' });
    await writeFile(join(sims.root, array, 'device.plist'), '<?xml version="1.0"?><plist version="1.0"><array/></plist>');
    const renamed = await sims.addSimulator({ name: 'Moved', runtime: 'iOS-17-2', state: 'Booted', udid: 'AAAAAAAA-0000-0000-0000-000000000000' });
    await mkdir(join(sims.root, 'BBBBBBBB-0000-0000-0000-000000000000'));
    writePlist(join(sims.root, 'BBBBBBBB-0000-0000-0000-000000000000', 'device.plist'), { UDID: renamed, name: 'Moved', runtime: 'x', state: 1 }, 'xml');
    const noState = await sims.addSimulator({ name: 'No state', runtime: 'iOS-17-2', state: 'Booted' });
    writePlist(join(sims.root, noState, 'device.plist'), { UDID: noState, name: 'No state', runtime: 'x' }, 'binary');
    // Not device folders at all: silently ignored.
    await mkdir(join(sims.root, 'no-plist-here'));
    await writeFile(join(sims.root, 'stray-file'), 'x');
    await symlink(join(sims.root, good), join(sims.root, 'CCCCCCCC-0000-0000-0000-000000000000'));

    const list = await devices.list();
    assert.deepEqual(list.map((s) => s.name).sort(), ['Moved', 'iPhone 15']);
    const warnings = logger.records.filter((r) => r.level === 'warn');
    assert.equal(warnings.length, 6, JSON.stringify(warnings, null, 1));
    for (const udid of [truncated, garbage, empty, array, noState]) {
      assert.ok(warnings.some((w) => w.fields.folder === join(sims.root, udid)), `a warning names ${udid}`);
    }
    assert.ok(warnings.some((w) => /differs from the folder name/.test(w.message)));

    await devices.list();
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 6, 'a broken folder warns once, not on every scan');
  });

  it('answers from its cache and scans again on a miss, as simulators come and go', async () => {
    const first = await sims.addSimulator({ name: 'iPhone 15', runtime: 'iOS-17-2', state: 'Booted' });
    assert.equal((await devices.find(first))?.name, 'iPhone 15');
    const later = await sims.addSimulator({ name: 'iPhone 15 Pro', runtime: 'iOS-17-2', state: 'Shutdown' });
    assert.equal((await devices.find(later))?.name, 'iPhone 15 Pro', 'a miss triggers a new scan');
    assert.equal(await devices.find('00000000-0000-0000-0000-000000000000'), undefined);
  });

  it('has no simulators, and says so at debug level only, where the devices folder does not exist', async () => {
    const none = new CoreSimulatorDevices(testConfig({ pluginOptions: { 'ios-simulator': { devicesRoot: join(dir, 'missing') } } }), logger);
    assert.deepEqual(await none.list(), []);
    assert.deepEqual(logger.messages('warn'), []);
    assert.equal(logger.messages('debug').length, 1);
  });

  it('maps app data containers to bundle ids from binary and XML container metadata', async () => {
    const udid = await sims.addSimulator({ name: 'iPhone 15', runtime: 'iOS-17-2', state: 'Booted' });
    const one = await sims.addApp(udid, 'com.example.one', 'binary');
    const two = await sims.addApp(udid, 'com.example.two', 'xml');
    const broken = await sims.addApp(udid, 'com.example.broken');
    await writeFile(join(broken, '.com.apple.mobile_container_manager.metadata.plist'), 'bplist00');
    const simulator = (await devices.find(udid))!;
    assert.deepEqual(await devices.containers(simulator), [
      { bundleId: 'com.example.one', path: one },
      { bundleId: 'com.example.two', path: two },
    ]);
    const bare = (await devices.find(await sims.addSimulator({ name: 'Fresh', runtime: 'iOS-17-2', state: 'Shutdown' })))!;
    assert.deepEqual(await devices.containers(bare), [], 'a simulator that never ran an app');
  });

  it('reads the devices root from the config at run time, with ~ for the home folder', () => {
    assert.equal(devicesRootOf(testConfig(), '/Users/me'), '/Users/me/Library/Developer/CoreSimulator/Devices');
    assert.equal(devicesRootOf(testConfig({ pluginOptions: { 'ios-simulator': { devicesRoot: '~/sims/' } } }), '/home/me'), '/home/me/sims');
    assert.throws(() => devicesRootOf(testConfig({ pluginOptions: { 'ios-simulator': { devicesRoot: 42 } } })), { kind: 'config-invalid' });
  });

  it('labels runtimes and device types as simctl shows them', () => {
    assert.equal(runtimeLabel('com.apple.CoreSimulator.SimRuntime.iOS-17-2'), 'iOS 17.2');
    assert.equal(runtimeLabel('com.apple.CoreSimulator.SimRuntime.watchOS-10-2'), 'watchOS 10.2');
    assert.equal(runtimeLabel('something.else'), 'something.else');
    assert.equal(deviceTypeLabel('com.apple.CoreSimulator.SimDeviceType.iPhone-15-Pro'), 'iPhone 15 Pro');
  });

  it('reads binary plists that plistutil (libplist) wrote, and writes ones plistutil reads', { skip: !existsSync(PLISTUTIL) && `${PLISTUTIL} is not installed` }, async () => {
    const udid = await sims.addSimulator({ name: 'iPhone 15', runtime: 'iOS-17-2', state: 'Booted', format: 'binary' });
    const plist = join(sims.root, udid, 'device.plist');
    const { stdout } = await run(PLISTUTIL, ['-i', plist, '-f', 'xml']);
    assert.match(stdout, new RegExp(`<key>UDID</key>\\s*<string>${udid}</string>`));
    assert.match(stdout, /<key>state<\/key>\s*<integer>3<\/integer>/);

    const xml = join(dir, 'from-simple-plist.xml');
    writePlist(xml, { UDID: 'X', name: 'Converted', runtime: 'com.apple.CoreSimulator.SimRuntime.iOS-18-0', state: 1, lastBootedAt: new Date(0) }, 'xml');
    const binary = join(dir, 'from-plistutil.plist');
    await run(PLISTUTIL, ['-i', xml, '-o', binary, '-f', 'bin']);
    assert.equal((await readFile(binary)).subarray(0, 8).toString(), 'bplist00');
    const parsed = await readPlistFile(binary);
    assert.equal(parsed.name, 'Converted');
    assert.equal(parsed.state, 1);
  });
});
