import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import { type Duplex, PassThrough } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import { type PrivateAdbServer, adbAvailable, adbkitShell, startPrivateAdbServer } from '../helpers/fake-adb/adb-server.js';
import { FakeAndroidDevice } from '../helpers/fake-adb/fake-android-device.js';
import { waitUntil, within } from '../helpers/fake-adb/wait.js';

const skip = adbAvailable() ? false : 'the adb binary is not installed (apt-get install -y adb)';

/** A TCP server on the host; `onConnection` decides what each connection does. */
async function hostServer(onConnection: (socket: net.Socket) => void): Promise<{ port: number; sockets: net.Socket[]; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads from `stream` until `length` bytes arrived. */
async function readBytes(stream: Duplex, length: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  return within(new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= length) {
        stream.off('data', onData);
        stream.pause();
        resolve(Buffer.concat(chunks));
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
    stream.resume(); // an explicitly paused stream does not resume by itself for a new listener
  }), what, 15_000);
}

describe('fake Android device: adb reverse, device-initiated streams, sync', { skip }, () => {
  let server: PrivateAdbServer;
  let device: FakeAndroidDevice;
  let serial: string;
  const cleanups: Array<() => Promise<void>> = [];
  before(async () => {
    server = await startPrivateAdbServer();
    device = new FakeAndroidDevice({ packages: [{ package: 'com.example.app', debuggable: true }] });
    await device.start();
    serial = await device.attach(server);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    if (!device.online) {
      await device.reappear();
      await device.attach(server);
    }
    await server.adb(['-s', serial, 'reverse', '--remove-all']);
  });
  after(async () => {
    await device?.stop();
    await server?.stop();
  });

  it('sets, lists and removes reverses through adbkit and the adb CLI', async () => {
    const adb = server.client().getDevice(serial);
    assert.equal(await adb.reverse('tcp:8089', 'tcp:18089'), true);
    assert.equal(await adb.reverse('tcp:8088', 'tcp:18088'), true);
    assert.deepEqual(await adb.listReverses(), [{ remote: 'tcp:8089', local: 'tcp:18089' }, { remote: 'tcp:8088', local: 'tcp:18088' }]);
    assert.deepEqual(device.reverses.list().map((e) => [e.remote, e.local]), [['tcp:8089', 'tcp:18089'], ['tcp:8088', 'tcp:18088']]);
    const listed = await server.adb(['-s', serial, 'reverse', '--list']);
    assert.match(listed.stdout, /^host-\d+ tcp:8089 tcp:18089\nhost-\d+ tcp:8088 tcp:18088\n/);

    // Rebinding replaces; --no-rebind refuses with adbd's message.
    assert.equal(await adb.reverse('tcp:8089', 'tcp:28089'), true);
    const noRebind = await server.adb(['-s', serial, 'reverse', '--no-rebind', 'tcp:8089', 'tcp:1']);
    assert.notEqual(noRebind.code, 0);
    assert.match(noRebind.stderr, /cannot rebind existing socket/);
    assert.equal(device.reverses.get('tcp:8089')?.local, 'tcp:28089');

    const removed = await server.adb(['-s', serial, 'reverse', '--remove', 'tcp:8088']);
    assert.equal(removed.code, 0, removed.stderr);
    const missing = await server.adb(['-s', serial, 'reverse', '--remove', 'tcp:8088']);
    assert.match(missing.stderr, /listener 'tcp:8088' not found/);
    assert.deepEqual(await adb.listReverses(), [{ remote: 'tcp:8089', local: 'tcp:28089' }]);

    // tcp:0 picks a device port and reports it.
    const any = await server.adb(['-s', serial, 'reverse', 'tcp:0', 'tcp:18000']);
    assert.match(any.stdout, /^\d+\n$/);
    assert.equal(device.reverses.get(`tcp:${any.stdout.trim()}`)?.local, 'tcp:18000');

    const all = await server.adb(['-s', serial, 'reverse', '--remove-all']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(await adb.listReverses(), []);
  });

  it('lets an app on the device reach a host echo server through the reverse, 1 MB each way', async () => {
    const echo = await hostServer((socket) => socket.pipe(socket));
    cleanups.push(echo.close);
    await server.client().getDevice(serial).reverse('tcp:8089', `tcp:${echo.port}`);

    const stream = await device.openTcpStream(8089);
    stream.write('hello');
    assert.equal((await readBytes(stream, 5, 'the echo of hello')).toString(), 'hello');

    const payload = randomBytes(1024 * 1024);
    stream.write(payload);
    assert.ok((await readBytes(stream, payload.length, 'the echo of 1 MB')).equals(payload));

    // The device closes: the host side sees the connection end.
    const hostSide = echo.sockets[0]!;
    const hostClosed = once(hostSide, 'close');
    const ended = once(stream, 'end');
    stream.resume(); // like a socket, the stream ends (and closes) only once its reader drained it
    stream.end();
    await within(hostClosed, 'the host socket to close after the device closed');
    await within(ended, 'the device stream to end');
    if (!stream.destroyed) await within(once(stream, 'close'), 'the device stream to close');
  });

  it('ends the device stream cleanly when the host closes first', async () => {
    const greeter = await hostServer((socket) => socket.end('bye from host'));
    cleanups.push(greeter.close);
    await server.client().getDevice(serial).reverse('tcp:8088', `tcp:${greeter.port}`);
    const stream = await device.openTcpStream(8088);
    const received: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = once(stream, 'close');
    await within(once(stream, 'end'), 'the device stream to end');
    assert.equal(Buffer.concat(received).toString(), 'bye from host');
    await within(closed, 'the device stream to close');
  });

  it('refuses ports that are not reversed, or whose host side has no listener', async () => {
    await assert.rejects(device.openTcpStream(9999), (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED');
    const closed = await hostServer(() => undefined);
    await closed.close();
    await server.client().getDevice(serial).reverse('tcp:7777', `tcp:${closed.port}`);
    await assert.rejects(device.openTcpStream(7777), /refused the stream/);
  });

  it('breaks open streams when the device vanishes; reverses must be set again after reconnecting', async () => {
    const echo = await hostServer((socket) => socket.pipe(socket));
    cleanups.push(echo.close);
    await server.client().getDevice(serial).reverse('tcp:8089', `tcp:${echo.port}`);
    const stream = await device.openTcpStream(8089);
    stream.write('ping');
    await readBytes(stream, 4, 'the first echo');
    const failed = once(stream, 'error');
    const hostClosed = once(echo.sockets[0]!, 'close');
    await device.vanish();
    const [error] = (await within(failed, 'the device stream to fail')) as [Error];
    assert.match(error.message, /connection lost/);
    await within(hostClosed, 'the host side of the relayed connection to close');

    await device.reappear();
    await device.attach(server);
    assert.deepEqual(await server.client().getDevice(serial).listReverses(), []);
    await server.client().getDevice(serial).reverse('tcp:8089', `tcp:${echo.port}`);
    const again = await device.openTcpStream(8089);
    again.write('pong');
    assert.equal((await readBytes(again, 4, 'the echo after reconnecting')).toString(), 'pong');
    again.destroy();
  });

  it('accepts adbkit push into /data/local/tmp, with stat, readdir and pull', async () => {
    const adb = server.client().getDevice(serial);
    const content = randomBytes(200 * 1024);
    const source = new PassThrough();
    source.end(content);
    const transfer = await adb.push(source, '/data/local/tmp/sub/payload.bin', 0o640);
    await within(new Promise((resolve, reject) => {
      transfer.on('end', resolve);
      transfer.on('error', reject);
    }), 'the push to finish');
    assert.ok((await device.fs.readFile('/data/local/tmp/sub/payload.bin')).equals(content));
    assert.equal((await device.fs.stat('/data/local/tmp/sub/payload.bin'))?.mode, 0o640);

    const stats = await adb.stat('/data/local/tmp/sub/payload.bin');
    assert.equal(stats.size, content.length);
    assert.ok(stats.isFile());
    assert.deepEqual((await adb.readdir('/data/local/tmp/sub')).map((e) => e.name), ['payload.bin']);
    const pulled = await adb.pull('/data/local/tmp/sub/payload.bin');
    const chunks: Buffer[] = [];
    pulled.on('data', (chunk: Buffer) => chunks.push(chunk));
    await within(once(pulled, 'end'), 'the pull to finish');
    assert.ok(Buffer.concat(chunks).equals(content));
  });

  it('refuses a push into an app\'s private folder, as the shell user', async () => {
    const source = new PassThrough();
    source.end('nope');
    const transfer = await server.client().getDevice(serial).push(source, '/data/data/com.example.app/x');
    const [error] = (await within(once(transfer, 'error'), 'the push to fail')) as [Error];
    assert.match(error.message, /couldn't create file: Permission denied/);
    assert.equal(await device.fs.stat('/data/data/com.example.app/x'), undefined);
  });

  it('works with adb push and adb pull from the CLI (stat_v2)', async () => {
    const pushed = await server.adb(['-s', serial, 'push', '/etc/hostname', '/data/local/tmp/hostname.txt']);
    assert.equal(pushed.code, 0, pushed.stderr + pushed.stdout);
    const shown = await adbkitShell(server.client(), serial, 'cat /data/local/tmp/hostname.txt');
    assert.ok(shown.length > 0);
    const pulled = await server.adb(['-s', serial, 'shell', 'ls', '/data/local/tmp']);
    assert.match(pulled.stdout, /^hostname\.txt$/m);
  });

  it('passes adbkit\'s quoted arguments through unharmed', async () => {
    const hostile = `it's "$(reboot)" \`id\`; rm -rf / && echo pwned | sh\n$HOME \\ end`;
    assert.equal(await adbkitShell(server.client(), serial, ['echo', hostile]), `${hostile}\n`);
    assert.equal(device.substitutions.length, 0);
    const output = await adbkitShell(server.client(), serial, ['run-as', 'com.example.app', 'sh', '-c', `echo '${'x'.repeat(3)}' > files.txt; cat files.txt`]);
    assert.equal(output, 'xxx\n');
    assert.equal((await device.fs.readFile('/data/data/com.example.app/files.txt')).toString(), 'xxx\n');
  });

  it('shows an unquoted injection in its logs', async () => {
    device.clearLogs();
    const text = `a"; touch /data/local/tmp/injected; echo "$(id)`;
    await adbkitShell(server.client(), serial, `echo "${text}"`);
    await waitUntil(() => device.executed.some((e) => e.argv[0] === 'touch'), 'the injected command to be recorded', 2000);
    assert.deepEqual(device.substitutions.map((s) => s.source), ['$(id)']);
    assert.equal(device.shellLog[device.shellLog.length - 1]!.command, `echo "${text}"`);
  });
});
