import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AppChannel } from '../../src/core/app-channel.js';
import { AppSession } from '../../src/core/app-session.js';
import { CertificateExchangeMedium, type ClientQuery, clientIdOf } from '../../src/core/client-query.js';
import { ClientRegistry } from '../../src/core/client-registry.js';
import { HostEvents } from '../../src/core/host-events.js';
import { type ConnectionHandler } from '../../src/core/connection-handler.js';
import { MemoryLogger } from '../helpers/fakes.js';
import { RecordingHandler } from '../helpers/test-host.js';

/** An app that answers the plugin protocol from a table, and records what the host sent. */
class FakeAppChannel implements AppChannel {
  readonly sent: string[] = [];
  closed = false;
  readonly pendingRequests = 0; // answers at once
  constructor(private readonly plugins: string[], private readonly background: string[]) {}
  async requestResponse(_id: number, data: string): Promise<string> {
    const { method } = JSON.parse(data) as { method: string };
    if (method === 'getPlugins') return JSON.stringify({ success: { plugins: this.plugins } });
    if (method === 'getBackgroundPlugins') return JSON.stringify({ success: { plugins: this.background } });
    return JSON.stringify({ error: { message: `Received unknown method: ${method}` } });
  }
  fireAndForget(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.closed = true;
  }
}

const query: ClientQuery = { os: 'iOS', device: 'iPhone Simulator', app: 'My App', deviceId: 'UDID-1', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS };

function sessionFor(registry: ClientRegistry, channel: FakeAppChannel, logger = new MemoryLogger()): AppSession {
  return new AppSession(clientIdOf(query), query, 'com.example.my', channel, {
    onEvent: (s, e) => registry.dispatchEvent(s, e),
    onRefreshPlugins: (s) => void registry.refreshPlugins(s),
  }, logger);
}

describe('ClientRegistry', () => {
  it('builds the upstream client id with escape() on the app name only', () => {
    assert.equal(clientIdOf(query), 'My%20App#iOS#iPhone Simulator#UDID-1');
  });

  it('registers, inits only the background plugins a handler claims, and routes events to claiming handlers', async () => {
    const network = new RecordingHandler(['Network']);
    const all = new RecordingHandler();
    const registry = new ClientRegistry([network], new HostEvents(), new MemoryLogger());
    const channel = new FakeAppChannel(['Network', 'Layout', 'Logs'], ['Network', 'Logs']);
    const session = sessionFor(registry, channel);
    await registry.connect(session);
    assert.deepEqual(registry.list(), [session]);
    assert.deepEqual(channel.sent.map((m) => JSON.parse(m)), [{ method: 'init', params: { plugin: 'Network' } }]);

    session.receive(JSON.stringify({ method: 'execute', params: { api: 'Network', method: 'newRequest', params: { id: 1 } } }));
    session.receive(JSON.stringify({ method: 'execute', params: { api: 'Layout', method: 'update', params: {} } }));
    assert.deepEqual(network.events.map((e) => e.event.method), ['newRequest']);
    assert.equal(all.events.length, 0, 'a handler that is not registered sees nothing');
  });

  it('replaces a zombie connection with the same id and tells the handlers', async () => {
    const handler = new RecordingHandler();
    const registry = new ClientRegistry([handler], new HostEvents(), new MemoryLogger());
    const oldChannel = new FakeAppChannel(['A'], []);
    const first = sessionFor(registry, oldChannel);
    await registry.connect(first);
    const second = sessionFor(registry, new FakeAppChannel(['A'], []));
    await registry.connect(second);
    assert.deepEqual(registry.list(), [second]);
    assert.equal(oldChannel.closed, true);
    assert.deepEqual(handler.disconnected, [first]);
    registry.disconnect(first); // the old connection's close arrives late: it must not remove the new one
    assert.deepEqual(registry.list(), [second]);
  });

  it('keeps going when a handler throws', async () => {
    const broken: ConnectionHandler = {
      id: 'broken',
      claims: () => true,
      onClientConnected: () => {
        throw new Error('boom');
      },
      onEvent: () => {
        throw new Error('boom');
      },
    };
    const recording = new RecordingHandler();
    const logger = new MemoryLogger();
    const registry = new ClientRegistry([broken, recording], new HostEvents(), logger);
    const session = sessionFor(registry, new FakeAppChannel(['A'], []));
    await registry.connect(session);
    session.receive(JSON.stringify({ method: 'execute', params: { api: 'A', method: 'e', params: 1 } }));
    assert.equal(recording.connected.length, 1);
    assert.equal(recording.events.length, 1);
    assert.ok(logger.messages('warn').includes('a connection handler failed on connect'));
  });

  it('stops telling handlers about a client that disconnected while one of them awaited onClientConnected', async () => {
    let release: () => void = () => undefined;
    const slow: ConnectionHandler = { id: 'slow', claims: () => true, onClientConnected: () => new Promise<void>((resolve) => (release = resolve)) };
    const later = new RecordingHandler();
    const registry = new ClientRegistry([slow, later], new HostEvents(), new MemoryLogger());
    const channel = new FakeAppChannel(['A'], ['A']);
    const session = sessionFor(registry, channel);
    const connecting = registry.connect(session);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the slow handler is now awaiting
    registry.disconnect(session);
    release();
    await connecting;
    assert.deepEqual(later.connected, [], 'the later handler never hears of the dead connection');
    assert.deepEqual(later.disconnected, [], 'nor of its disconnect, since it never heard of its connect');
    assert.deepEqual(channel.sent, [], 'no background plugin is initialised on a closed connection');
    assert.deepEqual(registry.list(), []);
  });

  it('ignores malformed app messages with a warning', async () => {
    const logger = new MemoryLogger();
    const registry = new ClientRegistry([], new HostEvents(), logger);
    const session = sessionFor(registry, new FakeAppChannel([], []), logger);
    session.receive('{not json');
    session.receive(JSON.stringify({ method: 'execute', params: 'nope' }));
    assert.deepEqual(logger.messages('warn'), ['ignored a malformed message from the app', 'ignored an execute message without api or method']);
  });
});
