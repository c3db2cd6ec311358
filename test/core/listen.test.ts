import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { toDisposable } from '../../src/core/disposable.js';
import { HostError } from '../../src/core/host-error.js';
import { type AddressListener, listen, listenEverywhere } from '../../src/core/listen.js';
import { MemoryLogger } from '../helpers/fakes.js';

/** Reserved for documentation (TEST-NET-2 and -3), so a machine should not have them: binding fails with EADDRNOTAVAIL. */
const ABSENT = ['198.51.100.7', '203.0.113.7'];

/** Starts real TCP servers through `listen`, remembering each so the test can see whether it still listens. */
function servers(): { started: net.Server[]; listenOn: (host: string, port: number) => Promise<AddressListener> } {
  const started: net.Server[] = [];
  return {
    started,
    listenOn: async (host, port) => {
      const server = net.createServer((socket) => {
        socket.on('error', () => undefined); // the test only connects and hangs up
        socket.end();
      });
      const address = await listen(server, port, host, '--ports');
      started.push(server);
      return { address, stop: toDisposable(() => new Promise<void>((resolve) => server.close(() => resolve()))) };
    },
  };
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('listenEverywhere', () => {
  it('listens on every address with the port the first one got, and one dispose stops them all', async () => {
    const { started, listenOn } = servers();
    const log = new MemoryLogger();
    const { port, listeners } = await listenEverywhere({ name: 'test', port: 0, hosts: ['127.0.0.1', '127.0.0.2'], log, listenOn });
    assert.notEqual(port, 0);
    assert.equal(started.length, 2);
    assert.ok(await canConnect('127.0.0.1', port));
    assert.ok(await canConnect('127.0.0.2', port));
    assert.deepEqual(log.messages('info'), ['listening (test)', 'listening (test)']);
    await listeners.dispose();
    assert.deepEqual(started.map((s) => s.listening), [false, false]);
    assert.equal(await canConnect('127.0.0.1', port), false);
  });

  it('when one address fails, stops the listeners already started and names the address and port', async () => {
    const blocker = net.createServer();
    const { port } = await listen(blocker, 0, '127.0.0.2', '--ports');
    try {
      const { started, listenOn } = servers();
      const failure = await listenEverywhere({ name: 'test', port, hosts: ['127.0.0.1', '127.0.0.2'], log: new MemoryLogger(), listenOn }).then(
        () => assert.fail('expected a failure'),
        (error: unknown) => error,
      );
      assert.ok(failure instanceof HostError);
      assert.equal(failure.kind, 'config-invalid');
      assert.match(failure.message, new RegExp(`Port ${port} on 127\\.0\\.0\\.2 is already in use.*--ports`));
      assert.equal(started.length, 1, 'the first address was listening before the second failed');
      assert.equal(started[0]!.listening, false, 'and it was stopped');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('skips an address this machine does not have while another is configured, and says so', async () => {
    const { started, listenOn } = servers();
    const log = new MemoryLogger();
    const { port, listeners } = await listenEverywhere({ name: 'test', port: 0, hosts: [ABSENT[0]!, '127.0.0.1'], log, listenOn });
    try {
      assert.equal(started.length, 1);
      assert.ok(await canConnect('127.0.0.1', port));
      const warning = log.records.find((r) => r.level === 'warn');
      assert.equal(warning?.message, `cannot bind ${ABSENT[0]} on this machine; serving the other addresses`);
    } finally {
      await listeners.dispose();
    }
  });

  it('fails with a clear error when no address could be bound', async () => {
    const { listenOn } = servers();
    await assert.rejects(listenEverywhere({ name: 'test', port: 0, hosts: ABSENT, log: new MemoryLogger(), listenOn }), (error: unknown) => {
      assert.ok(error instanceof HostError);
      assert.equal(error.message, `No test listener could be started on ${ABSENT.join(', ')}.`);
      return true;
    });
    // A single configured address is never skipped: its own error (naming it) is the answer.
    await assert.rejects(listenEverywhere({ name: 'test', port: 0, hosts: [ABSENT[0]!], log: new MemoryLogger(), listenOn }), new RegExp(`Cannot listen on ${ABSENT[0]!.replaceAll('.', '\\.')} port 0`));
  });
});
