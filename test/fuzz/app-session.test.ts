import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { deserializeFrames } from 'rsocket-core';
import { type AppChannel } from '../../src/core/app-channel.js';
import { AppConnector } from '../../src/core/app-connector.js';
import { AppSession } from '../../src/core/app-session.js';
import { CertificateExchangeMedium, type ClientQuery } from '../../src/core/client-query.js';
import { ClientRegistry } from '../../src/core/client-registry.js';
import { ConnectionDiagnostics } from '../../src/core/connection-diagnostics.js';
import { type PluginEvent } from '../../src/core/connection-handler.js';
import { HostError } from '../../src/core/host-error.js';
import { HostEvents } from '../../src/core/host-events.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { RSocketAppChannel } from '../../src/plugins/rsocket-transport/rsocket-app-channel.js';
import { RSocketServerConnection } from '../../src/plugins/rsocket-transport/rsocket-server-connection.js';
import { testConfig } from '../helpers/fakes.js';
import { CrashWatch, checkProperty, fuzzParameters, settle, within } from '../helpers/fuzz-harness.js';
import { SerializingLogger } from '../helpers/fuzz-host.js';
import { chaosString, isKnownReceiveTrigger, jsonTree, notJsonText, objectWithKeys, raw, receiveTriggerText, str, toJsonText } from '../helpers/fuzz-json.js';
import { FLAG, TYPE, encodeFrame, setupFrame } from '../helpers/fuzz-wire.js';

/**
 * Fuzzes the plugin protocol below the transports: AppSession.receive with any message, legacy
 * (sdk_version 0) answers, and how requests end when an app leaves (AppSession, AppConnector,
 * RSocketAppChannel), with the production JSON log sink so that a log field that cannot be
 * serialised fails here as it would in `sonarhost start`.
 */

/** A channel that records what the session sends; requests wait until the test settles them. */
class RecordingChannel implements AppChannel {
  readonly requests: Array<{ id: number; data: string; resolve: (text: string) => void; reject: (error: Error) => void }> = [];
  readonly messages: string[] = [];
  closed = false;
  get pendingRequests(): number {
    return this.requests.length;
  }
  requestResponse(id: number, data: string): Promise<string> {
    return new Promise((resolve, reject) => this.requests.push({ id, data, resolve, reject }));
  }
  fireAndForget(data: string): void {
    this.messages.push(data);
  }
  close(): void {
    this.closed = true;
  }
}

const query = (sdkVersion: number): ClientQuery => ({ os: 'Linux', device: 'unit', app: 'Unit', deviceId: '', sdkVersion, medium: CertificateExchangeMedium.FS_ACCESS });

function sessionWith(sdkVersion: number, timeoutMs = 2_000) {
  const channel = new RecordingChannel();
  const events: PluginEvent[] = [];
  let refreshes = 0;
  const session = new AppSession('Unit#Linux#unit#', query(sdkVersion), 'com.example.unit', channel, {
    onEvent: (_s, event) => events.push(event),
    onRefreshPlugins: () => refreshes++,
  }, new SerializingLogger(), timeoutMs);
  return { session, channel, events, refreshes: () => refreshes };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** What AppSession.receive must do with a message, by the plugin protocol (docs/protocol-rsocket.md, "App → host messages"). */
function expectedOutcome(text: string): 'event' | 'refresh' | 'nothing' {
  const m = parseObject(text);
  if (m === undefined) return 'nothing';
  if (m.method === 'execute') {
    const params = m.params as Record<string, unknown> | undefined | null;
    return params !== null && typeof params === 'object' && typeof params.api === 'string' && typeof params.method === 'string' ? 'event' : 'nothing';
  }
  return m.method === 'refreshPlugins' ? 'refresh' : 'nothing';
}

/** Messages of the plugin protocol, well-formed or not; those that hit the receive() bug the fuzzer found are left out here and covered by their own regression property. */
const appMessage = fc.oneof(
  {
    weight: 5,
    arbitrary: objectWithKeys({
      method: fc.constantFrom('execute', 'refreshPlugins', 'init', '', 'EXECUTE').map(str),
      params: fc.oneof(
        objectWithKeys({ api: fc.oneof(fc.constant('demo'), chaosString).map(str), method: fc.oneof(fc.constant('ready'), chaosString).map(str), params: jsonTree(3) }),
        fc.constantFrom(raw('null'), raw('[]'), raw('"text"'), raw('1')),
      ),
      id: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.integer()).map((n) => raw(String(n))),
      success: jsonTree(2),
      error: jsonTree(2),
    }).map(toJsonText),
  },
  { weight: 2, arbitrary: jsonTree(5).map(toJsonText) },
  { weight: 2, arbitrary: notJsonText },
).filter((text) => !isKnownReceiveTrigger(text));

describe('fuzz: AppSession.receive and the plugin protocol', () => {
  const watch = new CrashWatch();
  before(() => void watch.install());
  after(() => {
    watch.dispose();
  });

  it('receive() never throws, and turns exactly the well-formed execute and refreshPlugins messages into events', async () => {
    await checkProperty(
      fc.asyncProperty(fc.array(appMessage, { minLength: 1, maxLength: 5 }), async (texts) => {
        const { session, events, refreshes } = sessionWith(4);
        let expectedEvents = 0;
        let expectedRefreshes = 0;
        for (const text of texts) {
          session.receive(text);
          const outcome = expectedOutcome(text);
          if (outcome === 'event') expectedEvents++;
          if (outcome === 'refresh') expectedRefreshes++;
        }
        assert.equal(events.length, expectedEvents);
        assert.equal(refreshes(), expectedRefreshes);
        for (const event of events) assert.ok(typeof event.plugin === 'string' && typeof event.method === 'string');
        session.receive(undefined);
        session.receive(42);
        session.receive({ method: 'execute' });
        watch.assertNothingYet();
      }),
      fuzzParameters(1_000),
    );
    watch.assertClean('receive');
  });

  it('legacy apps (sdk_version 0): an answer settles exactly the request with its id; other messages are not answers', async () => {
    const answer = fc.record({
      id: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer()),
      body: fc.oneof(jsonTree(3).map((v) => `"success":${toJsonText(v)}`), jsonTree(2).map((v) => `"error":${toJsonText(v)}`), fc.constant('"nothing":1')),
    });
    await checkProperty(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(fc.oneof(answer.map((a) => ({ ...a, text: `{"id":${a.id},${a.body}}` })), appMessage.map((text) => ({ id: undefined, body: '', text }))), { maxLength: 6 }), async (count, messages) => {
        const { session, channel } = sessionWith(0, 1_000);
        const results = Array.from({ length: count }, (_, i) => session.request(`method${i}`).then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })));
        assert.equal(channel.messages.length, count, 'legacy requests go out as fire-and-forget');
        // The first message whose numeric id names a waiting request settles it: success resolves, anything else rejects.
        const settledBy = new Map<number, 'success' | 'other'>();
        for (const m of messages) {
          const parsed = parseObject(m.text);
          const id = parsed?.id;
          if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < count && !settledBy.has(id)) settledBy.set(id, 'success' in parsed! ? 'success' : 'other');
          session.receive(m.text);
        }
        session.close();
        const outcomes = await within(Promise.all(results), 2_000, 'legacy requests to settle after close');
        outcomes.forEach((outcome, id) => {
          const body = settledBy.get(id);
          if (body === undefined) {
            assert.equal(outcome.ok, false, `request ${id} resolved without an answer`);
            assert.ok(HostError.is((outcome as { error: unknown }).error), 'a request ended by close() rejects with a HostError');
          } else {
            assert.equal(outcome.ok, body === 'success', `request ${id} answered with ${body === 'success' ? 'success' : 'no success'} ${outcome.ok ? 'resolved' : 'rejected'}`);
          }
        });
        watch.assertNothingYet();
      }),
      fuzzParameters(600),
    );
    watch.assertClean('legacy answers');
  });

  it('receive() survives a method String() cannot convert and deeply nested messages', async () => {
    await checkProperty(
      fc.asyncProperty(receiveTriggerText, async (text) => {
        const { session } = sessionWith(4);
        assert.doesNotThrow(() => session.receive(text));
      }),
      fuzzParameters(20, 10_000, { shrink: false }),
    );
    watch.drain();
  });

  it('close() ends the requests still waiting for the app, instead of leaving them to their timeout', async () => {
    await checkProperty(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), async (count) => {
        const { session } = sessionWith(4, 1_000);
        const started = Date.now();
        const results = Array.from({ length: count }, (_, i) => session.request(`m${i}`).catch((error: unknown) => error));
        session.close();
        const errors = await Promise.all(results);
        assert.ok(Date.now() - started < 300, `requests ended ${Date.now() - started} ms after close() (their timeout, not the close)`);
        for (const error of errors) assert.ok(HostError.is(error, 'client-disconnected'));
      }),
      fuzzParameters(3, 10_000, { shrink: false }),
    );
  });

  it('a request over RSocket settles once the connection closes, whatever PAYLOAD flags the app answered with', async () => {
    // The host's side is our RSocket connection; a raw app sends its SETUP, answers the first
    // REQUEST_RESPONSE with a PAYLOAD of the given flags, then disconnects.
    await checkProperty(
      fc.asyncProperty(fc.constantFrom(FLAG.COMPLETE, FLAG.NEXT | FLAG.COMPLETE, FLAG.NEXT, 0, FLAG.COMPLETE | FLAG.IGNORE), fc.string({ maxLength: 8 }), async (flags, data) => {
        let accepted!: (channel: RSocketAppChannel) => void;
        const channel = new Promise<RSocketAppChannel>((resolve) => (accepted = resolve));
        const server = net.createServer((socket) => {
          socket.on('error', () => undefined);
          const connection = new RSocketServerConnection(socket, {
            maxFrameBytes: () => 1 << 20,
            accept: (setUp) => {
              accepted(new RSocketAppChannel(setUp));
              return {};
            },
            refuse: () => undefined,
            failed: () => undefined,
            ended: () => undefined,
          });
          socket.on('data', (chunk: Buffer) => connection.receive(chunk));
          socket.on('close', () => connection.end());
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const { port } = server.address() as net.AddressInfo;
        const app = net.connect({ host: '127.0.0.1', port });
        app.on('error', () => undefined);
        let buffer: Buffer = Buffer.alloc(0);
        app.on('data', (chunk: Buffer) => {
          buffer = Buffer.concat([buffer, chunk]);
          const [frames, rest] = deserializeFrames(buffer);
          buffer = rest;
          const request = frames.find((f) => f.type === TYPE.REQUEST_RESPONSE);
          if (request) {
            app.write(encodeFrame({ type: TYPE.PAYLOAD, flags, streamId: request.streamId, body: Buffer.from(data) }));
            setTimeout(() => app.destroy(), 50);
          }
        });
        app.write(setupFrame({ data: '{}' }));
        try {
          const opened = await within(channel, 1_000, 'the SETUP to be accepted');
          const outcome = await within(opened.requestResponse(0, '{"id":0,"method":"getPlugins"}', new AbortController().signal).then(() => 'resolved', () => 'rejected'), 1_000, `a request answered with PAYLOAD flags ${flags.toString(16)}, then a close`);
          assert.ok(outcome === 'resolved' || outcome === 'rejected');
          assert.equal(opened.pendingRequests, 0, 'the connection still holds the request');
        } finally {
          app.destroy();
          server.close();
        }
      }),
      fuzzParameters(10, 10_000, { shrink: false }),
    );
  });

  it('messages an app sent before its registration are not replayed into host requests once it has disconnected', async () => {
    const csr = await createCsr('com.example.unit', await generateRsaKeyPair());
    // Early messages, among them at least one refreshPlugins (which makes the host ask the app again).
    const earlyMessages = fc.tuple(fc.array(fc.constantFrom('{"method":"refreshPlugins"}', '{"method":"execute","params":{"api":"demo","method":"m"}}', '{}', 'not json'), { maxLength: 3 }), fc.nat())
      .map(([rest, at]) => [...rest.slice(0, at % (rest.length + 1)), '{"method":"refreshPlugins"}', ...rest.slice(at % (rest.length + 1))]);
    await checkProperty(
      fc.asyncProperty(earlyMessages, async (early) => {
        const logger = new SerializingLogger();
        const config = testConfig();
        const connector = new AppConnector(new ClientRegistry([], new HostEvents(), logger), new ConnectionDiagnostics(logger), [], config, logger);
        const channel = new RecordingChannel();
        // csr and csrPath make the registration asynchronous (the CSR is parsed), as on the secure ports.
        const app = connector.connect({ query: query(4), appId: 'com.example.unit', csr, csrPath: '/nowhere/', channel });
        for (const text of early) app.receive(text);
        app.closed();
        await settle(100);
        try {
          assert.deepEqual(channel.requests.map((r) => r.data), [], 'requests were sent to an app that had disconnected');
        } finally {
          // Settle what was sent, so no 30 s request timer outlives the test.
          for (const request of channel.requests) request.reject(new Error('test cleanup'));
        }
      }),
      fuzzParameters(5, 10_000, { shrink: false }),
    );
    watch.drain();
  });
});
