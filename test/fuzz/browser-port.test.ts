import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { CertificateExchangeMedium } from '../../src/core/client-query.js';
import { parseWebSocketQuery } from '../../src/core/protocol/websocket-query.js';
import { CrashWatch, checkProperty, fuzzParameters, settle, until, within } from '../helpers/fuzz-harness.js';
import { type FuzzHost, startFuzzHost, finishFuzzHost } from '../helpers/fuzz-host.js';
import { chaosString, jsonTree, notJsonText, toJsonText } from '../helpers/fuzz-json.js';
import { wsConverse } from '../helpers/fuzz-ws.js';

const ANSWER_MS = 3_000;
const INTERNAL_ERROR = 1011;
const MESSAGE_TOO_BIG = 1009;
/** The browser port's frame limit in this host (set below), so oversized frames are cheap to send. */
const BROWSER_FRAME_LIMIT = 8 * 1024;
/** What js-flipper in Node sends (docs/protocol-websocket.md, "Browser port"). */
/**
 * The Origins the browser port admits, written out as a grammar (the host parses them as URLs):
 * js-flipper's bare `localhost:<port>`, or `http(s)://` + exactly localhost, 127.0.0.1 or [::1] + an
 * optional port, and nothing else (no user info, no path).
 */
const allowedOrigin = (origin: string) => {
  if (/^localhost:\d{0,5}$/.test(origin)) return true;
  const match = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(?::(\d{0,5}))?\/?$/i.exec(origin);
  return match !== null && (match[2] === undefined || match[2] === '' || Number(match[2]) <= 65535);
};

/** HTTP drops optional whitespace around a header value; the host judges what is left. */
const headerValue = (text: string) => text.replace(/^[ \t]+|[ \t]+$/g, '');
/** Values Node's HTTP client sends at all (no control characters, one byte per character). */
const sendable = (text: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(text);

/**
 * Fuzzes the browser port (8333, js-flipper): random Origin headers (near misses of the allowed
 * prefixes included), random query strings and random text and binary frames. A foreign Origin is
 * refused with 401 before the upgrade, an unusable query is closed with 1011, an oversized frame with
 * 1009; nothing throws, and a js-flipper-shaped client (Origin `http://localhost:…`, answering
 * getPlugins) still registers after every property, as does the bystander app on RSocket.
 */
describe('fuzz: the browser port (8333)', () => {
  const watch = new CrashWatch();
  let host: FuzzHost;
  let checks = 0;

  before(async () => {
    watch.install();
    host = await startFuzzHost({ bystanders: ['rsocket'], change: (config) => Object.assign(config.limits, { maxBrowserFrameBytes: BROWSER_FRAME_LIMIT }) });
  });

  after(() => finishFuzzHost(host, watch));

  const browserUrl = (query: string) => `ws://127.0.0.1:${host.wsPorts.browser}/?${query}`;

  /** The browser handshake as js-flipper does it: it is served (getPlugins), registered, and unregistered when it leaves. */
  async function checkBrowserClient(what: string): Promise<void> {
    const device = `browser-check-${checks++}`;
    const socket = new WebSocket(browserUrl(`app=Web&device=${device}&os=Browser&device_id=${device}`), { origin: 'http://localhost:3000' });
    socket.on('error', () => undefined);
    const asked: string[] = [];
    socket.on('message', (data) => {
      asked.push(String(data));
      const request = JSON.parse(String(data)) as { id?: unknown };
      if (typeof request.id === 'number') socket.send(JSON.stringify({ id: request.id, success: { plugins: ['demo'] } }));
    });
    try {
      await within(once(socket, 'open'), 5_000, `${what}: a js-flipper-shaped client to be accepted`);
      await until(() => host.registry.list().some((s) => s.query.device === device && s.query.medium === CertificateExchangeMedium.NONE && !s.isClosed), 5_000, `${what}: the browser client to register`);
      assert.equal(asked[0], '{"id":0,"method":"getPlugins"}', `${what}: the browser client was not asked for its plugins`);
    } finally {
      socket.close();
    }
    await until(() => !host.registry.list().some((s) => s.query.device === device), 5_000, `${what}: the browser client to be unregistered after it left`);
  }

  async function afterProperty(what: string): Promise<void> {
    await settle(50);
    watch.assertClean(what);
    await checkBrowserClient(what);
    await host.checkBystanders(what);
    await host.checkOnlyBystanders(what);
    watch.assertClean(`${what} (checks)`);
  }

  it('random Origins and queries: 401 for a foreign Origin, 1011 for an unusable query, served otherwise', async () => {
    const origin = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom('localhost:', 'http://localhost:', 'https://localhost:', 'http://localhost', 'localhost', 'http://127.0.0.1:', 'http://localhost.evil.example:', 'file://', 'null', '', ' localhost:', 'LOCALHOST:', 'http://localhost:3000@evil.example', 'http://localhost:1@evil.example', 'http://[::1]:', 'https://127.0.0.1:', 'http:localhost:', 'http://user@localhost:'), fc.constantFrom('', '3000', '8080/x', '😀', 'évil')).map(([prefix, rest]) => prefix + rest) },
      { weight: 1, arbitrary: chaosString },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
    const value = fc.oneof(fc.constantFrom('Web', 'Browser', 'd', '', 'iOS'), chaosString);
    const query = fc.array(fc.tuple(fc.constantFrom('app', 'device', 'os', 'device_id', 'app_id', 'medium', 'sdk_version', 'csr'), value), { maxLength: 6 }).map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '?'))}`).join('&'));
    await checkProperty(
      fc.asyncProperty(origin, query, async (o, q) => {
        fc.pre(o === undefined || sendable(o));
        const outcome = await wsConverse({ url: browserUrl(q), origin: o, messages: [], waitMs: ANSWER_MS, until: (received) => received.length > 0 });
        watch.assertNothingYet();
        if (outcome.invalidUrl !== undefined) return;
        // Node's HTTP parser refuses request lines beyond its header size limit (16 KiB) with 431, before any check of ours.
        if (q.length > 8_000 && outcome.httpStatus === 431) return;
        const allowed = o !== undefined && allowedOrigin(headerValue(o));
        if (!allowed) {
          assert.equal(outcome.httpStatus, 401, `Origin ${JSON.stringify(o)} was not refused with 401: ${JSON.stringify(outcome)}`);
          return;
        }
        let usable = true;
        try {
          parseWebSocketQuery(new URL(browserUrl(q)).search ? `/${new URL(browserUrl(q)).search}` : '/', 'browser');
        } catch {
          usable = false;
        }
        assert.ok(outcome.opened, `Origin ${JSON.stringify(o)} was refused: ${JSON.stringify(outcome)}`);
        if (usable) assert.equal(outcome.received[0], '{"id":0,"method":"getPlugins"}', `a usable query was not served: ${q} → ${JSON.stringify(outcome)}`);
        else assert.equal(outcome.closeCode, INTERNAL_ERROR, `an unusable query was not closed with 1011: ${q} → ${JSON.stringify(outcome)}`);
      }),
      fuzzParameters(200),
    );
    await afterProperty('random Origins and queries');
  });

  it('random text and binary frames from an admitted browser client: handled or closed (1009 over the limit), never a crash', async () => {
    const text = fc.oneof(
      jsonTree(4).map(toJsonText),
      notJsonText,
      fc.tuple(fc.constantFrom('execute', 'getPlugins', 'init', 'deinit', ''), jsonTree(2), fc.integer({ min: -1, max: 3 })).map(([method, params, id]) => JSON.stringify({ id, method, params: JSON.parse(toJsonText(params) || 'null') as unknown, success: { plugins: [method] } })),
      fc.integer({ min: BROWSER_FRAME_LIMIT + 1, max: BROWSER_FRAME_LIMIT * 2 }).map((n) => 'x'.repeat(n)),
    );
    const frame = fc.oneof({ weight: 3, arbitrary: text }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) }, { weight: 1, arbitrary: text.map((t) => Buffer.from(t)) });
    await checkProperty(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), async (frames) => {
        const oversized = frames.some((f) => Buffer.byteLength(f) > BROWSER_FRAME_LIMIT);
        const outcome = await wsConverse({
          url: browserUrl('app=Fuzz&device=fuzz-browser'), origin: 'http://localhost:3000', messages: frames, waitMs: ANSWER_MS, pingAfter: true,
          onMessage: (t, send) => {
            const request = JSON.parse(t) as { id?: unknown };
            if (typeof request.id === 'number') send(JSON.stringify({ id: request.id, success: { plugins: [] } }));
          },
        });
        watch.assertNothingYet();
        assert.ok(outcome.opened, `a valid browser client was refused: ${JSON.stringify(outcome)}`);
        if (oversized) assert.equal(outcome.closeCode, MESSAGE_TOO_BIG, `a frame over ${BROWSER_FRAME_LIMIT} bytes did not close with 1009: ${JSON.stringify(outcome).slice(0, 300)}`);
        else assert.ok(outcome.satisfied || outcome.closed, `neither handled the frames nor closed within ${ANSWER_MS} ms`);
      }),
      fuzzParameters(120),
    );
    await afterProperty('random browser frames');
  });
});
