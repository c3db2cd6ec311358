import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { API_TOKEN_FILE } from '../../src/core/access-token.js';
import { WS_API_PATH } from '../../src/plugins/http-api/ws-api.js';
import { CrashWatch, checkProperty, fuzzParameters, settle } from '../helpers/fuzz-harness.js';
import { type FuzzHost, startFuzzHost, finishFuzzHost } from '../helpers/fuzz-host.js';
import { chaosString, jsonTree, notJsonText, objectWithKeys, raw, str, toJsonText } from '../helpers/fuzz-json.js';
import { wsConverse } from '../helpers/fuzz-ws.js';
import { withApi } from '../helpers/test-host.js';

const ANSWER_MS = 3_000;
/** The body limit of the API (http-api-service.ts); bodies up to it must be read and answered. */
const MAX_BODY = 1024 * 1024;
/** What a call to an app may legitimately end in (app-error, client-disconnected, timeout): documented in api-problem.ts. */
const CALL_STATUSES = [502, 503, 504];

interface RawAnswer {
  /** The status line, or undefined when the host closed without one. */
  status?: number;
  statusLine?: string;
  text: string;
  closed: boolean;
}

/**
 * Writes `bytes` as they are (no client-side validation of methods, paths or headers) and reads the
 * answer: until the host closes, or shortly after the headers for an answer that streams (/api/events).
 */
async function rawHttp(port: number, bytes: Buffer, waitMs = ANSWER_MS): Promise<RawAnswer> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  let text = '';
  let closed = false;
  try {
    await new Promise<void>((resolve) => {
      let lingering: NodeJS.Timeout | undefined;
      const deadline = setTimeout(resolve, waitMs);
      socket.on('close', () => {
        closed = true;
        clearTimeout(deadline);
        clearTimeout(lingering);
        resolve();
      });
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (lingering === undefined && text.includes('\r\n\r\n')) lingering = setTimeout(resolve, 300);
      });
      socket.once('connect', () => socket.end(bytes));
      // A reset after a refusal that left the body unread: judged by what arrived before it.
      socket.once('error', () => resolve());
    });
  } finally {
    socket.destroy();
  }
  const statusLine = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text);
  return { status: statusLine ? Number(statusLine[1]) : undefined, statusLine: statusLine?.[0], text, closed };
}

/** The path a server reads from a request target (an origin-form `//x` stays a path), if any. */
function pathnameOf(target: string): string | undefined {
  try {
    return new URL(target.startsWith('/') ? `http://127.0.0.1${target}` : target).pathname;
  } catch {
    return undefined;
  }
}

/** The body of a complete answer, chunked or not. */
function bodyOf(text: string): string {
  const split = text.indexOf('\r\n\r\n');
  let rest = text.slice(split + 4);
  if (!/^transfer-encoding: chunked/im.test(text.slice(0, split))) return rest;
  let body = '';
  for (;;) {
    const size = parseInt(rest, 16);
    if (!(size > 0)) return body;
    const start = rest.indexOf('\r\n') + 2;
    body += rest.slice(start, start + size);
    rest = rest.slice(start + size + 2);
  }
}

const methodArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE') },
  { weight: 1, arbitrary: fc.constantFrom('get', 'G ET', '', 'BREW', 'PROPFIND', 'M-SEARCH', 'GET\u0000') },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

const pathSegment = fc.oneof(
  fc.constantFrom('api', 'health', 'clients', 'exchanges', 'devices', 'certificates', 'events', 'recent', 'call', 'ws', 'index.html', 'favicon.ico', '..', '.', '', '%', '%%', '%2e%2e', '%2F', '%zz', '%e9', '%ed%a0%80', '%00', '😀', 'ünï', '\u202e'),
  chaosString.map((s) => s.replace(/[\s]/g, '')),
);
const pathArb = fc.oneof(
  { weight: 6, arbitrary: fc.array(pathSegment, { maxLength: 6 }).map((segments) => `/${segments.join('/')}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('/api/clients/', '/api/', '/'), fc.integer({ min: 1_000, max: 20_000 })).map(([head, n]) => `${head}${'a'.repeat(n)}`) },
  { weight: 1, arbitrary: fc.constantFrom('*', 'http://127.0.0.1/api/health', '//api/health', '/api/health#x', '/api/health?', '/api/clients/%/call', '/api/clients/..%2F..%2F/call') },
);

type TokenPlace = 'header' | 'query' | 'basic' | 'wrong' | 'none' | 'lowercase-bearer';

/**
 * Fuzzes the HTTP API (src/plugins/http-api) and its WebSocket API at /api/ws on a real host with a
 * bystander app: arbitrary methods, odd paths, Host/Origin/Authorization variants, bodies that are not
 * JSON, not an object, of the wrong types or large (within the limit). Every answer is a well-formed
 * HTTP status below 500 (or a documented call failure), the token is never echoed, the process never
 * throws, and a well-behaved tool is served after each property.
 */
describe('fuzz: the HTTP API and its WebSocket API', () => {
  const watch = new CrashWatch();
  let host: FuzzHost;
  let port: number;
  let token: string;

  before(async () => {
    watch.install();
    host = await startFuzzHost({ bystanders: ['rsocket'], change: withApi });
    port = host.apiPort!;
    token = (await readFile(join(host.config.certDir, API_TOKEN_FILE), 'utf8')).trim();
  });

  after(() => finishFuzzHost(host, watch));

  /** A tool that does everything right is still served: health over HTTP, and a round trip over /api/ws. */
  async function checkWellBehavedTool(what: string): Promise<void> {
    const health = await rawHttp(port, Buffer.from(`GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`));
    assert.equal(health.status, 200, `${what}: /api/health answered ${health.statusLine ?? health.text.slice(0, 200)}`);
    assert.match(health.text, /"status":"ok"/, `${what}: /api/health`);
    const ws = await wsConverse({ url: `ws://127.0.0.1:${port}${WS_API_PATH}?token=${token}`, messages: [JSON.stringify({ id: 'h', type: 'clients' })], waitMs: ANSWER_MS, until: (r) => r.length > 0 });
    assert.ok(ws.satisfied, `${what}: /api/ws did not answer a well-formed message: ${JSON.stringify(ws)}`);
    const answer = JSON.parse(ws.received[0]!) as { id: unknown; type: unknown; result: Array<{ id: string }> };
    assert.deepEqual([answer.id, answer.type], ['h', 'result']);
    assert.ok(answer.result.some((c) => c.id === host.bystanders[0]!.session.id), `${what}: the bystander is not listed`);
  }

  async function afterProperty(what: string): Promise<void> {
    await settle(50);
    watch.assertClean(what);
    await checkWellBehavedTool(what);
    await host.checkBystanders(what);
    watch.assertClean(`${what} (checks)`);
  }

  it('a request target starting with // is a path, not a host: 404 for HTTP and the upgrade, never 500 (found by this fuzzer)', async () => {
    // `new URL('//x', base)` reads "x" as a host name, and `//` alone does not parse at all: the API answered 500.
    for (const target of ['//', `//?token=${token}`, '//api/health', '//evil.example/api/ws']) {
      const http = await rawHttp(port, Buffer.from(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`));
      assert.equal(http.status, 404, `GET ${target}: ${http.statusLine ?? http.text.slice(0, 200)}`);
      const upgrade = await rawHttp(port, Buffer.from(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`), 1_500);
      assert.equal(upgrade.status, 404, `upgrade ${target}: ${upgrade.statusLine ?? upgrade.text.slice(0, 200)}`);
    }
    watch.assertClean('// targets');
  });

  it('arbitrary HTTP requests are answered with a well-formed status below 500, never echoing the token', async () => {
    const hostHeader = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('127.0.0.1', 'localhost', '[::1]').map((name) => `${name}:${port}`) },
      { weight: 1, arbitrary: fc.constantFrom(undefined, '', 'evil.example', '127.0.0.1.evil.example', 'localhost:', '127.0.0.1:99999', 'LOCALHOST', '127.0.0.1 ', '127.0.0.1\u0000') },
      { weight: 1, arbitrary: chaosString },
    );
    const origin = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom('null', 'http://evil.example', 'http://localhost', 'https://127.0.0.1') }, { weight: 1, arbitrary: chaosString });
    const tokenPlace = fc.constantFrom<TokenPlace>('header', 'header', 'query', 'basic', 'wrong', 'none', 'lowercase-bearer');
    const callBody = objectWithKeys({ method: fc.oneof(fc.constantFrom('execute', 'getPlugins', '', 'x').map(str), jsonTree(1)), params: objectWithKeys({ api: fc.constantFrom('demo', 'nope').map(str), method: fc.constantFrom('echo', 'x').map(str), params: jsonTree(2) }), timeoutMs: fc.constantFrom('1', '50', '0', '-1', '"5"', '1e308', 'null').map(raw) });
    const body = fc.oneof(
      { weight: 3, arbitrary: callBody.map(toJsonText) },
      { weight: 2, arbitrary: jsonTree(3).map(toJsonText) },
      { weight: 2, arbitrary: notJsonText },
      { weight: 1, arbitrary: fc.integer({ min: 100_000, max: MAX_BODY - 100 }).map((n) => `{"method":"execute","params":"${'x'.repeat(n)}"}`) },
      { weight: 2, arbitrary: fc.constant(undefined) },
    );
    const extraHeaders = fc.array(fc.tuple(fc.oneof(fc.constantFrom('Content-Type', 'Transfer-Encoding', 'X-Forwarded-For', 'Cookie', 'Expect'), chaosString), chaosString), { maxLength: 3 });
    const request = fc.record({ method: methodArb, path: pathArb, query: fc.option(fc.constantFrom('recent', 'token=x', 'a=%', 'token='), { nil: undefined }), hostHeader, origin, tokenPlace, body, extraHeaders, onClient: fc.boolean() });
    let counted = { answered: 0, refusedByParser: 0 };
    await checkProperty(
      fc.asyncProperty(request, async (r) => {
        // Half the requests aim at the bystander's call route, so bodies reach parseCallRequest and the app.
        const path = r.onClient ? `/api/clients/${encodeURIComponent(host.bystanders[0]!.session.id)}/call` : r.path;
        const query = [r.query, r.tokenPlace === 'query' ? `token=${token}` : undefined].filter((q) => q !== undefined).join('&');
        const lines = [`${r.method} ${path}${query ? `?${query}` : ''} HTTP/1.1`];
        if (r.hostHeader !== undefined) lines.push(`Host: ${r.hostHeader}`);
        if (r.origin !== undefined) lines.push(`Origin: ${r.origin}`);
        const auth: Record<TokenPlace, string | undefined> = {
          header: `Bearer ${token}`, query: undefined, basic: `Basic ${Buffer.from(`x:${token}`).toString('base64')}`, wrong: `Bearer ${token.slice(0, -1)}x`, none: undefined, 'lowercase-bearer': `bearer ${token}`,
        };
        if (auth[r.tokenPlace] !== undefined) lines.push(`Authorization: ${auth[r.tokenPlace]}`);
        for (const [name, value] of r.extraHeaders) lines.push(`${name}: ${value}`);
        const bytes = r.body === undefined ? undefined : Buffer.from(r.body);
        if (bytes !== undefined && !r.extraHeaders.some(([name]) => /^(transfer-encoding|content-length)$/i.test(name))) lines.push(`Content-Length: ${bytes.length}`);
        lines.push('Connection: close');
        const answer = await rawHttp(port, Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), bytes ?? Buffer.alloc(0)]));
        watch.assertNothingYet();
        const shown = () => `${JSON.stringify(lines).slice(0, 400)} → ${JSON.stringify(answer.text.slice(0, 300))}`;
        // Node's HTTP parser may drop a request it cannot parse without a status (a half-read body); it must still close.
        if (answer.status === undefined) {
          assert.ok(answer.closed, `neither answered nor closed: ${shown()}`);
          counted.refusedByParser++;
          return;
        }
        counted.answered++;
        const documented = r.onClient && r.method === 'POST' && CALL_STATUSES.includes(answer.status);
        assert.ok(answer.status < 500 || documented, `status ${answer.status}: ${shown()}`);
        assert.ok(!answer.text.includes(token), `the token was echoed: ${shown()}`);
        if (answer.status >= 400 && r.method !== 'HEAD' && /content-type: application\/json/i.test(answer.text)) {
          const json = JSON.parse(bodyOf(answer.text)) as { kind?: unknown; error?: unknown };
          assert.equal(typeof json.kind, 'string', shown());
          assert.equal(typeof json.error, 'string', shown());
        }
      }),
      fuzzParameters(250),
    );
    assert.ok(counted.answered > counted.refusedByParser, `most requests should be answered: ${JSON.stringify(counted)}`);
    counted = { answered: 0, refusedByParser: 0 };
    await afterProperty('HTTP requests');
  });

  it('random messages on /api/ws are answered as results or errors (never internal) and the connection keeps serving', async () => {
    const clientRef = fc.oneof(fc.constant('com.example.bystander').map(str), fc.constantFrom('Bystander', 'nobody', '').map(str), jsonTree(1));
    const message = fc.oneof(
      {
        weight: 5,
        arbitrary: objectWithKeys({
          id: fc.oneof(fc.integer({ min: 0, max: 5 }).map((n) => raw(String(n))), fc.constantFrom('a', '').map(str), jsonTree(1)),
          type: fc.oneof(fc.constantFrom('call', 'clients', 'health', 'subscribe', 'unsubscribe', 'event', '').map(str), jsonTree(1)),
          client: clientRef,
          method: fc.oneof(fc.constantFrom('execute', 'getPlugins', '').map(str), jsonTree(1)),
          params: objectWithKeys({ api: fc.constantFrom('demo', 'x').map(str), method: fc.constantFrom('echo', 'x').map(str), params: jsonTree(2) }),
          timeoutMs: fc.constantFrom('1', '100', '0', '-5', '"1"', 'null', '1e400').map(raw),
          events: fc.oneof(fc.constant(raw('["client-connected"]')), jsonTree(2)),
          plugin: jsonTree(1),
          subscription: jsonTree(1),
          recent: fc.constantFrom('true', 'false', '1').map(raw),
        }).map(toJsonText),
      },
      { weight: 2, arbitrary: jsonTree(3).map(toJsonText) },
      { weight: 2, arbitrary: notJsonText },
    );
    const frame = fc.oneof({ weight: 5, arbitrary: message }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) });
    await checkProperty(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), async (frames) => {
        const probe = JSON.stringify({ id: 'probe', type: 'health' });
        const outcome = await wsConverse({ url: `ws://127.0.0.1:${port}${WS_API_PATH}?token=${token}`, messages: [...frames, probe], waitMs: ANSWER_MS, until: (r) => r.some((m) => m.includes('"id":"probe"')) });
        watch.assertNothingYet();
        assert.ok(outcome.opened && outcome.satisfied, `the probe after random messages was not answered: ${JSON.stringify(outcome).slice(0, 400)}`);
        for (const text of outcome.received) {
          const answer = JSON.parse(text) as { type?: unknown; kind?: unknown };
          assert.ok(['result', 'error', 'event'].includes(answer.type as string), `answer ${text.slice(0, 200)}`);
          assert.notEqual(answer.kind, 'internal', `an internal error: ${text.slice(0, 300)}`);
          assert.ok(!text.includes(token), 'the token was echoed');
        }
      }),
      fuzzParameters(150),
    );
    await afterProperty('/api/ws messages');
  });

  it('upgrades to /api/ws with odd paths, Hosts, Origins and tokens are refused with a status or served', async () => {
    const upgrade = fc.record({
      path: fc.oneof(fc.constant(WS_API_PATH), pathArb),
      tokenIn: fc.constantFrom('query', 'header', 'wrong', 'none'),
      origin: fc.constantFrom(undefined, 'http://evil.example', 'null', `http://127.0.0.1`),
      host: fc.constantFrom(undefined, 'evil.example'),
    });
    await checkProperty(
      fc.asyncProperty(upgrade, async ({ path, tokenIn, origin, host: hostName }) => {
        const query = tokenIn === 'query' ? `?token=${token}` : tokenIn === 'wrong' ? `?token=${token.slice(1)}` : '';
        const headers = [`GET ${path}${query} HTTP/1.1`, `Host: ${hostName ?? `127.0.0.1:${port}`}`, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];
        if (origin !== undefined) headers.push(`Origin: ${origin}`);
        if (tokenIn === 'header') headers.push(`Authorization: Bearer ${token}`);
        const answer = await rawHttp(port, Buffer.from(`${headers.join('\r\n')}\r\n\r\n`), 1_500);
        watch.assertNothingYet();
        assert.ok(answer.status !== undefined || answer.closed, `neither answered nor closed: ${path}`);
        if (answer.status === undefined) return;
        assert.ok(answer.status < 500, `status ${answer.status} for ${JSON.stringify(headers).slice(0, 300)}`);
        assert.ok(!answer.text.includes(token), 'the token was echoed');
        const served = pathnameOf(path) === WS_API_PATH && (tokenIn === 'query' || tokenIn === 'header') && origin === undefined && hostName === undefined;
        if (served) assert.equal(answer.status, 101);
        else assert.notEqual(answer.status, 101, `upgraded without the right path, token, Host and Origin: ${JSON.stringify(headers).slice(0, 300)}`);
      }),
      fuzzParameters(100),
    );
    await afterProperty('/api/ws upgrades');
  });
});
