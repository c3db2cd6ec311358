import assert from 'node:assert/strict';
import { once } from 'node:events';
import { inflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { type PrivateAdbServer, adbAvailable, adbkitShell, startPrivateAdbServer } from '../helpers/fake-adb/adb-server.js';
import { FakeAndroidDevice } from '../helpers/fake-adb/fake-android-device.js';
import { type LogcatSession } from '../helpers/fake-adb/fake-logcat.js';
import { PNG_SIGNATURE, makePng } from '../helpers/fake-adb/png-image.js';
import { waitUntil, within } from '../helpers/fake-adb/wait.js';

const skip = adbAvailable() ? false : 'the adb binary is not installed (apt-get install -y adb)';

describe('fake Android device: screencap and logcat', () => {
  let device: FakeAndroidDevice;
  before(async () => {
    device = new FakeAndroidDevice();
    await device.start();
  });
  after(() => device.stop());

  it('makes a valid PNG: signature, chunks with their CRCs, and pixels that inflate to the image', () => {
    const png = makePng(3, 2, (x, y) => [x, y, 7]);
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
    const chunks: Array<{ type: string; data: Buffer }> = [];
    for (let at = 8; at < png.length; ) {
      const length = png.readUInt32BE(at);
      chunks.push({ type: png.subarray(at + 4, at + 8).toString('latin1'), data: png.subarray(at + 8, at + 8 + length) });
      at += 12 + length;
    }
    assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
    assert.deepEqual([...inflateSync(chunks[1]!.data)], [0, 0, 0, 7, 1, 0, 7, 2, 0, 7, 0, 0, 1, 7, 1, 1, 7, 2, 1, 7]);
  });

  it('screencap -p prints the screen; other forms are refused', async () => {
    assert.equal(await device.runShell('screencap -p'), device.screen.toString('utf8'));
    assert.match(await device.runShell('screencap /sdcard/shot.png'), /supports only `screencap -p`/);
  });

  it('logcat dumps (-d, -t N), clears (-c), and refuses formats other than threadtime', async () => {
    device.logcat.clear();
    const first = device.logcat.log({ tag: 'One', message: 'first' });
    const second = device.logcat.log({ level: 'E', tag: 'Two', message: 'second' });
    assert.equal(await device.runShell('logcat -v threadtime -d'), `${first}\n${second}\n`);
    assert.equal(await device.runShell('logcat -t 1'), `${second}\n`);
    assert.match(await device.runShell('logcat -v brief -d'), /only -v threadtime/);
    await device.runShell('logcat -c');
    assert.equal(await device.runShell('logcat -d'), '');
  });
});

describe('fake Android device: logcat followed through the real adb server', { skip }, () => {
  let server: PrivateAdbServer;
  let device: FakeAndroidDevice;
  let serial: string;
  before(async () => {
    server = await startPrivateAdbServer();
    device = new FakeAndroidDevice();
    await device.start();
    serial = await device.attach(server);
  });
  after(async () => {
    await device?.stop();
    await server?.stop();
  });

  it('streams lines pushed after it opened, and records the host hanging up', async () => {
    device.logcat.push('old line');
    const stream = await server.client().getDevice(serial).shell('logcat -v threadtime -T 1');
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    await waitUntil(() => text === 'old line\n', 'the newest old line', 10_000, 20);
    device.logcat.push('new line', 'garbage \u0000 line');
    await waitUntil(() => text === 'old line\nnew line\ngarbage \u0000 line\n', 'the new lines', 10_000, 20);
    assert.equal(device.logcat.following, 1);
    const closed = once(device.logcat, 'closed') as Promise<[LogcatSession]>;
    stream.end();
    const [session] = await within(closed, 'the fake to see the stream closed');
    assert.deepEqual([session.why, session.args], ['hangup', ['-v', 'threadtime', '-T', '1']]);
    assert.equal(device.logcat.following, 0);
  });

  it('a dump ends by itself', async () => {
    assert.match(await adbkitShell(server.client(), serial, 'logcat -d'), /new line/);
    assert.equal(device.logcat.sessions.at(-1)?.why, 'done');
  });
});
