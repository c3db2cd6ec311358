import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost, withWebSocket } from '../helpers/test-host.js';

/**
 * The browser port's Origin rule stops browsers, not local processes: any local process can be a
 * browser client. So its clients get limits of their own (`maxBrowserFrameBytes`,
 * `maxBrowserConnections`) besides the gate every port has until a client registers.
 */
describe('the browser port limits', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  const sockets: WebSocket[] = [];

  /** A local process posing as js-flipper: the Origin header is whatever it writes. */
  const browserClient = async (device: string) => {
    const socket = new WebSocket(`ws://127.0.0.1:${host.wsPorts.browser}?app=Web&device=${device}&os=Browser&device_id=${device}`, { origin: 'http://localhost:3000' });
    socket.on('error', () => undefined);
    sockets.push(socket);
    // Answers the host's registration requests with no plugins.
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number };
      if (typeof message.id === 'number') socket.send(JSON.stringify({ id: message.id, success: { plugins: [] } }));
    });
    await once(socket, 'open');
    return socket;
  };
  const closeCode = (socket: WebSocket) =>
    Promise.race([once(socket, 'close').then(([code]) => code as number), new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 3_000))]);

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, (config) => {
      withWebSocket(config);
      Object.assign(config.limits, { maxBrowserFrameBytes: 8 * 1024, maxBrowserConnections: 2 });
    });
  });
  after(async () => {
    for (const socket of sockets) socket.terminate();
    await host.stop();
    await cleanup();
  });

  it('closes a browser client that sends a message over maxBrowserFrameBytes (not the 16 MiB of certified apps)', async () => {
    const socket = await browserClient('big');
    await eventually(() => host.registry.list().find((s) => s.query.device === 'big'), 'the browser client to register');
    socket.send(JSON.stringify({ method: 'execute', params: { api: 'p', method: 'm', params: 'x'.repeat(64 * 1024) } }));
    assert.equal(await closeCode(socket), 1009);
  });

  it('admits at most maxBrowserConnections browser clients at once; the others are told to try later', async () => {
    await eventually(() => !host.registry.list().some((s) => s.query.device === 'big'), 'the closed client to leave');
    const first = await browserClient('one');
    await browserClient('two');
    const third = await browserClient('three');
    assert.equal(await closeCode(third), 1013);
    assert.equal(first.readyState, WebSocket.OPEN, 'the admitted ones are still served');
    await eventually(() => host.registry.list().filter((s) => s.query.os === 'Browser').length === 2, 'two browser clients');
  });
});

/** The browser port's Origin names a host; a prefix test would take `http://localhost:1@evil.example`. */
describe('the browser port Origin rule', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, (config) => withWebSocket(config));
  });
  after(async () => {
    await host.stop();
    await cleanup();
  });

  /** 'open' or the HTTP status the upgrade was refused with. */
  const attempt = (origin: string) =>
    new Promise<number | 'open'>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${host.wsPorts.browser}?app=Web&device=o&os=Browser&device_id=o`, { origin });
      socket.once('open', () => {
        socket.terminate();
        resolve('open');
      });
      socket.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        socket.terminate();
      });
      socket.once('error', (error) => reject(error));
    });

  it('admits js-flipper\'s forms and local pages, and refuses an Origin whose host is not exactly loopback', async () => {
    for (const origin of ['http://localhost:1@evil.example', 'http://localhost:3000@evil.example', 'http://localhost.evil.example:3000', 'http://evil.example', 'http:localhost:3000', 'http://localhost:3000/x']) {
      assert.equal(await attempt(origin), 401, origin);
    }
    for (const origin of ['localhost:', 'localhost:8333', 'http://localhost:', 'http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000']) {
      assert.equal(await attempt(origin), 'open', origin);
    }
  });
});
