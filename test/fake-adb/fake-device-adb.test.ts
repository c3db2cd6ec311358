import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { type PrivateAdbServer, adbAvailable, adbkitShell, startPrivateAdbServer } from '../helpers/fake-adb/adb-server.js';
import { FakeAndroidDevice } from '../helpers/fake-adb/fake-android-device.js';
import { waitUntil, within } from '../helpers/fake-adb/wait.js';

const skip = adbAvailable() ? false : 'the adb binary is not installed (apt-get install -y adb)';

/** The fake device through the real adb server (private port, temporary HOME) and adbkit. */
describe('fake Android device with the real adb server', { skip }, () => {
  let server: PrivateAdbServer;
  let device: FakeAndroidDevice;
  let serial: string;
  before(async () => {
    server = await startPrivateAdbServer();
    device = new FakeAndroidDevice({
      model: 'Pixel 7', name: 'panther', device: 'panther', sdk: 33, release: '13', abilist: 'arm64-v8a,armeabi-v7a',
      props: { 'ro.build.fingerprint': 'google/panther/panther:13/TQ3A/1:user/release-keys' },
      packages: [
        { package: 'com.example.app', debuggable: true },
        { package: 'com.example.release', debuggable: false },
      ],
    });
    await device.start();
    serial = await device.attach(server);
  });
  after(async () => {
    await device?.stop();
    await server?.stop();
  });

  it('is listed as a device by adbkit and the adb CLI, with its identity', async () => {
    assert.deepEqual(await server.client().listDevices(), [{ id: serial, type: 'device' }]);
    const { stdout } = await server.adb(['devices', '-l']);
    assert.match(stdout, new RegExp(`^${serial.replace(/\./g, '\\.')}\\s+device product:panther model:Pixel_7 device:panther`, 'm'));
  });

  it('answers adbkit getProperties and getprop <key>', async () => {
    const props = await server.client().getDevice(serial).getProperties();
    assert.equal(props['ro.product.model'], 'Pixel 7');
    assert.equal(props['ro.build.version.sdk'], '33');
    assert.equal(props['ro.build.version.release'], '13');
    assert.equal(props['ro.product.cpu.abilist'], 'arm64-v8a,armeabi-v7a');
    assert.equal(props['ro.build.fingerprint'], 'google/panther/panther:13/TQ3A/1:user/release-keys');
    assert.equal(await adbkitShell(server.client(), serial, 'getprop ro.product.device'), 'panther\n');
    assert.deepEqual(device.shellLog.map((e) => e.command).slice(-2), ['getprop', 'getprop ro.product.device']);
  });

  it('runs shell commands from the adb CLI (shell v1: no shell_v2 advertised)', async () => {
    const { stdout } = await server.adb(['-s', serial, 'shell', 'echo', 'hi', '&&', 'run-as', 'com.example.app', 'pwd']);
    assert.equal(stdout, 'hi\n/data/user/0/com.example.app\n');
    const features = await server.adb(['-s', serial, 'features']);
    assert.doesNotMatch(features.stdout, /shell_v2/);
  });

  it('serves exec: (adb exec-out) and an interactive shell: stream', async () => {
    const { stdout } = await server.adb(['-s', serial, 'exec-out', 'getprop', 'ro.product.name']);
    assert.equal(stdout, 'panther\n');
    assert.equal(device.shellLog[device.shellLog.length - 1]!.service, 'exec');

    const shell = await server.client().getDevice(serial).shell('');
    const received: Buffer[] = [];
    shell.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = once(shell, 'end');
    shell.write('cd /data/local/tmp\necho "$(id)" ; pwd\n');
    await waitUntil(() => Buffer.concat(received).toString().endsWith('/data/local/tmp\n'), 'the interactive output');
    shell.write('exit\n');
    await within(ended, 'the interactive shell to end after exit');
    assert.match(Buffer.concat(received).toString(), /command substitution is disabled/);
  });

  it('lists an unauthorized device as unauthorized, then as a device once allowed', async () => {
    const locked = new FakeAndroidDevice({ unauthorized: true });
    await locked.start();
    try {
      await locked.attach(server);
      const listed = await server.client().listDevices();
      assert.deepEqual(listed.find((d) => d.id === locked.serial), { id: locked.serial, type: 'unauthorized' });
      assert.equal(locked.offeredKeys.length, 1);
      assert.match(locked.offeredKeys[0]!, /^[A-Za-z0-9+/=]+ /);
      await assert.rejects(adbkitShell(server.client(), locked.serial, 'echo hi'), /unauthorized/);
      locked.setAuthorized(true);
      await server.waitForState(locked.serial, 'device');
      assert.equal(await adbkitShell(server.client(), locked.serial, 'echo hi'), 'hi\n');
    } finally {
      await locked.detach(server).catch(() => undefined);
      await locked.stop();
    }
  });

  it('is seen coming and going by adbkit trackDevices', async () => {
    const other = new FakeAndroidDevice();
    await other.start();
    const tracker = await server.client().trackDevices();
    const events: string[] = [];
    tracker.on('add', (d: { id: string; type: string }) => d.id === other.serial && events.push(`add ${d.type}`));
    tracker.on('change', (d: { id: string; type: string }) => d.id === other.serial && events.push(`change ${d.type}`));
    tracker.on('remove', (d: { id: string }) => d.id === other.serial && events.push('remove'));
    try {
      await other.attach(server);
      await waitUntil(() => events.includes('change device') || events.includes('add device'), 'the tracker to see the device online');
      await other.detach(server);
      await waitUntil(() => events.includes('remove'), 'the tracker to see the device removed');
      assert.equal(events[events.length - 1], 'remove');
    } finally {
      tracker.end();
      await other.stop();
    }
  });

  it('vanishes abruptly mid-command and comes back', async () => {
    const shell = await server.client().getDevice(serial).shell('echo started; sleep 30; echo never');
    const received: Buffer[] = [];
    shell.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise<void>((resolve) => {
      shell.on('end', resolve);
      shell.on('close', resolve);
      shell.on('error', () => resolve());
    });
    await waitUntil(() => Buffer.concat(received).toString() === 'started\n', 'the first output line');
    await device.vanish();
    await within(ended, 'the shell stream to end when the device vanished', 5000);
    assert.equal(Buffer.concat(received).toString(), 'started\n');
    await server.waitForState(serial, 'offline', 5000);
    await assert.rejects(device.openTcpStream(8089), /ECONNREFUSED/);

    await device.reappear();
    await device.attach(server);
    assert.equal(await adbkitShell(server.client(), serial, 'getprop ro.product.model'), 'Pixel 7\n');
  });
});
