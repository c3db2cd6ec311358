import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type Frame } from 'rsocket-types';
import { createCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { derOf, derMutationArb, mutateDer, pemOf } from '../helpers/fuzz-csr.js';
import { CrashWatch, checkProperty, fuzzParameters, settle, until } from '../helpers/fuzz-harness.js';
import { FUZZ_UNAUTHENTICATED_LIFETIME_MS, type FuzzHost, startFuzzHost, finishFuzzHost } from '../helpers/fuzz-host.js';
import { type JsonTree, chaosString, isKnownReceiveTrigger, jsonTree, notJsonText, obj, objectWithKeys, raw, receiveTriggerText, str, toJsonText } from '../helpers/fuzz-json.js';
import {
  FLAG, SANE_SETUP, TYPE, type WireOutcome, answerFrame, converse, encodeFrame, errorMessage, isError, rawFrameArb, requestFrame, setupFrame, splitAt, streamIdArb, tcp, tlsTo,
} from '../helpers/fuzz-wire.js';
import { SETUP } from '../helpers/raw-rsocket.js';

/** The default maxUnauthenticatedFrameBytes: larger frames may only come from an app that proved who it is. */
const UNAUTHENTICATED_FRAME_LIMIT = 64 * 1024;
/** How long the host may take to answer a request or to close after our half-close. */
const ANSWER_MS = 3_000;

const assertClosedOrAnswered = (outcome: WireOutcome, what: string) => {
  assert.equal(outcome.unparsable, undefined, `${what}: the host sent bytes that are not RSocket frames`);
  assert.ok(outcome.closed || outcome.satisfied, `${what}: neither answered nor closed within ${ANSWER_MS} ms (frames: ${JSON.stringify(outcome.frames)})`);
};

/** What an exchange-port host may send: answers (PAYLOAD, ERROR) and KEEPALIVE echoes, never requests. */
const EXCHANGE_REPLY_TYPES = new Set([TYPE.PAYLOAD, TYPE.ERROR, TYPE.KEEPALIVE]);

const identityTree = (app: fc.Arbitrary<string> = fc.oneof(fc.constantFrom('Fuzzed App', 'x'), chaosString)) =>
  objectWithKeys({
    os: fc.constantFrom('Linux', 'MacOS', 'Windows', 'Android', 'iOS', 'Plan9', '').map(str),
    device: fc.oneof(fc.constant('fuzz-device'), chaosString).map(str),
    app: app.map(str),
    device_id: fc.oneof(fc.constantFrom('unknown', ''), chaosString).map(str),
    sdk_version: fc.oneof(fc.constantFrom('0', '1', '3', '4', '1000', '1001', '-1', '2.5', '"4"', 'null', '1e400'), fc.integer({ min: -3, max: 2000 }).map(String)).map(raw),
    medium: fc.constantFrom('1', '2', '3', '0', '4', '"1"', 'null', '1.0', '1.5', 'true', '[]').map(raw),
  });

/**
 * Fuzzes the RSocket listeners of a real host over real TCP and TLS: byte streams, frames of every
 * type, flags, stream id and declared length, SETUP fields and data, signCertificate requests and the
 * messages of a registered app. Every bad input must be answered (an ERROR frame, an answer) or end in
 * a closed connection within a bound; nothing may crash the host or leave a rejection unhandled; and
 * the bystander app connected before the first case must be served, unchanged, after every property.
 */
describe('fuzz: the RSocket transport (exchange port 8089, secure port 8088)', () => {
  const watch = new CrashWatch();
  let host: FuzzHost;
  let ownCsr: string;
  let otherCsr: string;
  let ownFolder: string;
  let victimFolder: string;

  before(async () => {
    watch.install();
    host = await startFuzzHost({ bystanders: ['rsocket'] });
    ownCsr = await createCsr('com.example.own', await generateRsaKeyPair());
    otherCsr = await createCsr('com.example.other', await generateRsaKeyPair());
    ownFolder = join(host.dir, 'own', 'sonar') + '/';
    victimFolder = join(host.dir, 'victim', 'sonar') + '/';
    await mkdir(ownFolder, { recursive: true });
    await mkdir(victimFolder, { recursive: true });
    await writeFile(join(ownFolder, 'app.csr'), ownCsr);
    // The victim's CSR is never given to the fuzzer: nothing may ever be written into its folder.
    await writeFile(join(victimFolder, 'app.csr'), await createCsr('com.example.victim', await generateRsaKeyPair()));
  });

  after(async () => {
    // The app that was connected all along is still served, and a folder nobody proved is untouched.
    await finishFuzzHost(host, watch, async () => assert.deepEqual(await readdir(victimFolder), ['app.csr']));
  });

  /** After every property: no crash, the bystander answers, newcomers are served, nothing stays registered. */
  async function afterProperty(what: string): Promise<void> {
    await settle(50);
    watch.assertClean(what);
    await host.checkBystanders(what);
    await host.checkNewcomers(what);
    await host.checkOnlyBystanders(what);
    watch.assertClean(`${what} (checks)`);
  }

  const exchange = (chunks: Uint8Array[], options: { end?: boolean; until?: (frames: Frame[]) => boolean } = {}) =>
    converse({ connect: tcp(host.ports.insecure), ready: 'connect', chunks, waitMs: ANSWER_MS, ...options });

  it('random byte streams are closed after our half-close, and never crash the host', async () => {
    const streams = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      // A valid SETUP, then noise: the noise is parsed as frames of a set-up connection.
      fc.uint8Array({ maxLength: 300 }).map((noise) => Buffer.concat([setupFrame({ data: SETUP() }), noise])),
      // Frames as rsocket would write them, with bytes flipped.
      fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }), fc.constantFrom('{}', '{"method":"signCertificate"}')).map(([flips, data]) => {
        const bytes = Buffer.concat([setupFrame({ data: SETUP() }), requestFrame('response', 1, data), requestFrame('fnf', 3, data)]);
        for (const [at, mask] of flips) bytes[at % bytes.length]! ^= mask;
        return bytes;
      }),
    );
    await checkProperty(
      fc.asyncProperty(streams, fc.array(fc.nat(), { maxLength: 4 }), async (bytes, cuts) => {
        const outcome = await exchange(splitAt(bytes, cuts), { end: true });
        watch.assertNothingYet();
        assert.ok(outcome.closed, `not closed within ${ANSWER_MS} ms after our half-close`);
        assertClosedOrAnswered(outcome, 'random bytes');
        for (const frame of outcome.frames) assert.ok(EXCHANGE_REPLY_TYPES.has(frame.type), `the exchange port sent a frame of type ${frame.type}`);
      }),
      fuzzParameters(400),
    );
    await afterProperty('random byte streams');
  });

  it('frames of any type, flags, stream id and declared length: the host answers a later probe or closes', async () => {
    const cases = fc.record({
      withSetup: fc.boolean(),
      frames: fc.array(rawFrameArb, { minLength: 1, maxLength: 6 }),
      cuts: fc.array(fc.nat(), { maxLength: 3 }),
    });
    await checkProperty(
      fc.asyncProperty(cases, async ({ withSetup, frames, cuts }) => {
        // A truthful length prefix keeps the framing, so a probe after the frames is delimited and must be
        // answered unless the frames ended the connection. A lying prefix swallows what follows: we half-close.
        const framingKept = frames.every((f) => f.declaredLength === undefined);
        const probeStream = 0x7ffffff1;
        const bytes = Buffer.concat([
          ...(withSetup ? [setupFrame({ data: SETUP() })] : []),
          ...frames.map(encodeFrame),
          ...(framingKept ? [requestFrame('response', probeStream, JSON.stringify({ method: 'probe' }))] : []),
        ]);
        const outcome = await exchange(splitAt(bytes, cuts), framingKept ? { until: (fs) => fs.some((f) => f.streamId === probeStream) } : { end: true });
        watch.assertNothingYet();
        assertClosedOrAnswered(outcome, 'random frames');
        const probe = outcome.frames.find((f) => f.streamId === probeStream);
        if (probe) assert.match(errorMessage(probe), /Unknown method "probe"/);
        for (const frame of outcome.frames) assert.ok(EXCHANGE_REPLY_TYPES.has(frame.type), `the exchange port sent a frame of type ${frame.type}`);
      }),
      fuzzParameters(400),
    );
    await afterProperty('random frames');
  });

  it('SETUP frames with random fields and data are accepted (a probe is answered) or refused with an ERROR frame or a close', async () => {
    const latin1 = fc.string({ unit: 'binary-ascii', maxLength: 40 });
    const data = fc.oneof(
      { weight: 5, arbitrary: identityTree().map(toJsonText) },
      { weight: 2, arbitrary: jsonTree(4).map(toJsonText) },
      { weight: 2, arbitrary: notJsonText },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
    const fields = fc.record({
      flags: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x3ff }) }),
      major: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
      minor: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
      keepAlive: fc.oneof({ weight: 3, arbitrary: fc.constant(10_000) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff) }),
      lifetime: fc.oneof({ weight: 3, arbitrary: fc.constant(2_147_483_647) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 100, 0x80000000, 0xffffffff) }),
      resumeToken: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined, freq: 6 }),
      metadataMime: fc.oneof(fc.constantFrom('text/plain', 'application/json', ''), latin1),
      dataMime: fc.oneof(fc.constantFrom('text/plain', 'application/json', ''), latin1),
      metadata: fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 })), { nil: undefined, freq: 4 }),
      data,
    });
    await checkProperty(
      fc.asyncProperty(fields, async (setup) => {
        const bytes = Buffer.concat([setupFrame(setup), requestFrame('response', 1, JSON.stringify({ method: 'probe' }))]);
        const outcome = await exchange([bytes], { until: (fs) => fs.some((f) => f.streamId === 1 || isError(f, 0)) });
        watch.assertNothingYet();
        assertClosedOrAnswered(outcome, 'random SETUP');
        const probe = outcome.frames.find((f) => f.streamId === 1);
        if (probe) assert.match(errorMessage(probe), /Unknown method "probe"/);
        const refusal = outcome.frames.find((f) => isError(f, 0));
        if (refusal) assert.match(errorMessage(refusal), /\S/, 'an ERROR frame that says nothing');
      }),
      fuzzParameters(300),
    );
    // A sane SETUP with a valid identity must be accepted whatever else it carries.
    await checkProperty(
      fc.asyncProperty(fc.record({ app: chaosString.filter((s) => s.length > 0 && s.length <= 512 && !/[\u0000-\u001f]/.test(s)), extra: fc.array(fc.tuple(chaosString, jsonTree(2)), { maxLength: 3 }) }), async ({ app, extra }) => {
        const identity = obj([...extra.filter(([k]) => !['os', 'device', 'app', 'device_id', 'sdk_version', 'medium'].includes(k)), ['os', str('Linux')], ['device', str('d')], ['app', str(app)]]);
        const setup = setupFrame({ ...SANE_SETUP, data: toJsonText(identity) });
        const outcome = await exchange([setup, requestFrame('response', 1, JSON.stringify({ method: 'probe' }))], { until: (fs) => fs.some((f) => f.streamId === 1 || isError(f, 0)) });
        watch.assertNothingYet();
        if (setup.length - 3 > UNAUTHENTICATED_FRAME_LIMIT) {
          assert.ok(outcome.closed, 'a SETUP over the unauthenticated frame limit did not close the connection');
          return;
        }
        assert.ok(outcome.frames.some((f) => f.streamId === 1 && /Unknown method "probe"/.test(errorMessage(f))), `a valid SETUP was not accepted: ${JSON.stringify(outcome.frames)}`);
      }),
      fuzzParameters(150),
    );
    await afterProperty('random SETUP frames');
  });

  it('signCertificate requests of random JSON (or not JSON) are each answered, or the connection closes for an oversized frame', async () => {
    const csr = fc.oneof(
      { weight: 3, arbitrary: fc.constant(str(ownCsr)) },
      { weight: 1, arbitrary: fc.constant(str(otherCsr)) },
      { weight: 4, arbitrary: fc.array(derMutationArb, { minLength: 1, maxLength: 3 }).map((m) => str(pemOf(mutateDer(derOf(ownCsr), m)))) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => str(pemOf(b))) },
      { weight: 2, arbitrary: jsonTree(2) },
    );
    const destination = fc.oneof(
      fc.constantFrom('own', 'own-no-slash', 'victim', 'own-then-up-to-victim', 'root', 'relative', 'dir').map((k) => str(
        k === 'own' ? ownFolder : k === 'own-no-slash' ? ownFolder.slice(0, -1) : k === 'victim' ? victimFolder : k === 'own-then-up-to-victim' ? `${ownFolder}../../victim/sonar/` : k === 'root' ? '/' : k === 'dir' ? host.dir : 'own/sonar/',
      )),
      jsonTree(2),
    );
    const request = fc.oneof(
      { weight: 6, arbitrary: objectWithKeys({ method: fc.constantFrom(str('signCertificate'), str('signCertificateAck'), raw('1'), str('')), csr, destination, medium: fc.constantFrom('1', '2', '3', '0', 'null', '"1"').map(raw), timestamp: fc.integer().map((n) => raw(String(n))) }).map(toJsonText) },
      { weight: 2, arbitrary: jsonTree(4).map(toJsonText) },
      { weight: 2, arbitrary: notJsonText },
    );
    const message = fc.record({
      type: fc.constantFrom('response', 'response', 'fnf') as fc.Arbitrary<'response' | 'fnf'>,
      data: fc.oneof({ weight: 9, arbitrary: request }, { weight: 1, arbitrary: fc.constant(undefined) }),
      metadata: fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 })), { nil: undefined, freq: 5 }),
    });
    await checkProperty(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 3 }), async (messages) => {
        const frames = messages.map((m, i) => requestFrame(m.type, 1 + 2 * i, m.data, m.metadata));
        const probeStream = 1 + 2 * messages.length;
        frames.push(requestFrame('response', probeStream, JSON.stringify({ method: 'probe' })));
        const oversized = frames.some((f) => f.length - 3 > UNAUTHENTICATED_FRAME_LIMIT);
        const expected = messages.map((m, i) => (m.type === 'response' ? 1 + 2 * i : -1)).filter((id) => id > 0).concat(probeStream);
        const outcome = await converse({
          connect: tcp(host.ports.insecure), ready: 'connect', waitMs: 8_000,
          chunks: [setupFrame({ data: SETUP({ app: 'Fuzzed App' }) }), ...frames],
          until: (fs) => expected.every((id) => fs.some((f) => f.streamId === id)),
        });
        watch.assertNothingYet();
        if (oversized) {
          assert.ok(outcome.closed, 'a frame over the unauthenticated limit did not close the connection');
          return;
        }
        assert.ok(outcome.satisfied, `not every request was answered within 8 s (closed: ${outcome.closed}, frames: ${JSON.stringify(outcome.frames).slice(0, 500)})`);
        for (const id of expected) {
          const answer = outcome.frames.find((f) => f.streamId === id)!;
          assert.ok(answer.type === TYPE.PAYLOAD || answer.type === TYPE.ERROR, `stream ${id} answered with frame type ${answer.type}`);
          if (answer.type === TYPE.ERROR) assert.doesNotMatch(errorMessage(answer), /^(not implemented)?$/, 'an ERROR frame that does not say what to fix');
        }
      }),
      fuzzParameters(300, 12_000),
    );
    await afterProperty('signCertificate requests');
    assert.deepEqual(await readdir(victimFolder), ['app.csr'], 'a folder whose app.csr was never sent received files');
  });

  it('silent and partial peers on both ports are closed within the unauthenticated lifetime', async () => {
    const partial = fc.oneof(
      fc.constant(Buffer.alloc(0)),
      fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => Buffer.from(b)),
      fc.nat({ max: 40 }).map((n) => setupFrame({ data: SETUP() }).subarray(0, n)),
      fc.constant(setupFrame({ data: SETUP() })), // a complete SETUP on the exchange port, then silence
      fc.integer({ min: 10, max: 60_000 }).map((n) => encodeFrame({ type: TYPE.SETUP, flags: 0, streamId: 0, body: Buffer.alloc(0), declaredLength: n })),
    );
    const batch = fc.array(fc.tuple(fc.boolean(), partial), { minLength: 24, maxLength: 40 });
    await checkProperty(
      fc.asyncProperty(batch, async (peers) => {
        const outcomes = await Promise.all(
          peers.map(([secure, bytes]) =>
            converse({
              connect: secure ? tlsTo(host.ports.secure, host.fuzzer) : tcp(host.ports.insecure),
              ready: secure ? 'secureConnect' : 'connect',
              chunks: secure && bytes.length > 60 ? [bytes.subarray(0, 30)] : [bytes], // never a whole secure SETUP: that authenticates
              waitMs: FUZZ_UNAUTHENTICATED_LIFETIME_MS + 2_000,
            }),
          ),
        );
        watch.assertNothingYet();
        outcomes.forEach((o, i) => assert.ok(o.closed, `peer ${i} (${peers[i]![0] ? 'secure' : 'exchange'}) still open after ${o.ms} ms`));
      }),
      fuzzParameters(1, 15_000),
    );
    await afterProperty('silent peers');
  });

  /** The host's first request (getPlugins): request-response, or fire-and-forget with an id for sdk_version 0. */
  const isHostRequest = (f: Frame) => f.type === TYPE.REQUEST_RESPONSE || (f.type === TYPE.REQUEST_FNF && /"method":"getPlugins"/.test(String((f as { data?: unknown }).data)));
  const secureSetup = (tree: JsonTree) => setupFrame({ data: toJsonText(tree) });
  const secureIdentity = () =>
    fc
      .tuple(
        identityTree(fc.constantFrom('Fuzzed App', 'Fuzzer')),
        fc.oneof(
          { weight: 4, arbitrary: fc.constant(str(host.fuzzer.csr)) },
          { weight: 2, arbitrary: fc.constant(str(otherCsr)) },
          { weight: 1, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.array(derMutationArb, { minLength: 1, maxLength: 2 }).map((m) => str(pemOf(mutateDer(derOf(host.fuzzer.csr), m)))) },
          { weight: 1, arbitrary: jsonTree(2) },
        ),
        fc.oneof(fc.constant(str(host.fuzzer.stateDir)), fc.constant(undefined), jsonTree(1)),
      )
      .map(([identity, csr, csrPath]) => {
        const entries = identity.kind === 'object' ? [...identity.entries] : [];
        if (csr !== undefined) entries.push(['csr', csr]);
        if (csrPath !== undefined) entries.push(['csr_path', csrPath]);
        return { tree: obj(entries), claimsOther: csr !== undefined && csr.kind === 'string' && csr.value === otherCsr };
      });

  it('secure SETUPs with random data are refused (ERROR frame, close) or the host starts asking; never as another app', async () => {
    await checkProperty(
      fc.asyncProperty(secureIdentity(), async ({ tree, claimsOther }) => {
        const outcome = await converse({
          connect: tlsTo(host.ports.secure, host.fuzzer), ready: 'secureConnect', waitMs: ANSWER_MS,
          chunks: [secureSetup(tree)],
          until: (fs) => fs.some((f) => isError(f, 0) || isHostRequest(f)),
        });
        watch.assertNothingYet();
        assertClosedOrAnswered(outcome, 'secure SETUP');
        const asked = outcome.frames.some(isHostRequest);
        if (claimsOther) assert.equal(asked, false, 'a certificate of com.example.fuzzer was accepted with the CSR of com.example.other');
        if (!asked) assert.ok(outcome.closed || outcome.frames.some((f) => isError(f, 0)), 'refused without an ERROR frame or a close');
      }),
      fuzzParameters(200),
    );
    await afterProperty('secure SETUPs');
  });

  it('a registered secure app sending random frames, answers and messages never disturbs the host or other apps', async () => {
    const answer = fc.oneof(
      { weight: 3, arbitrary: fc.array(fc.oneof(fc.constantFrom('demo', 'Fuzz', ''), chaosString), { maxLength: 4 }).map((plugins) => JSON.stringify({ success: { plugins } })) },
      { weight: 2, arbitrary: objectWithKeys({ success: jsonTree(3), error: jsonTree(2), id: fc.integer().map((n) => raw(String(n))) }).map(toJsonText) },
      { weight: 1, arbitrary: notJsonText },
      { weight: 1, arbitrary: fc.constant(null) }, // no answer at all
    );
    // `refreshPlugins` is left out here: sent before the registration completes by an app that then
    // disconnects, it left a host request pending for 30 s (a bug the fuzzer found, fixed; regression property in test/fuzz/app-session.test.ts).
    const appMessage = fc.oneof(
      objectWithKeys({
        method: fc.constantFrom('execute', 'init', 'signCertificate', 'getPlugins', '').map(str),
        params: objectWithKeys({ api: fc.oneof(fc.constant('demo'), chaosString).map(str), method: fc.oneof(fc.constant('ready'), chaosString).map(str), params: jsonTree(3) }),
        id: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.integer()).map((n) => raw(String(n))),
        success: jsonTree(2),
        error: jsonTree(2),
      }).map(toJsonText),
      jsonTree(4).map(toJsonText),
      notJsonText,
    ).filter((text) => !isKnownReceiveTrigger(text)); // those make AppSession.receive throw: test/fuzz/app-session.test.ts
    const appFrame = fc.oneof(
      { weight: 4, arbitrary: appMessage.map((data) => ({ kind: 'fnf' as const, data })) },
      { weight: 1, arbitrary: appMessage.map((data) => ({ kind: 'request' as const, data })) },
      // A PAYLOAD with COMPLETE but without NEXT on a host request's stream leaves that request waiting for
      // its 30 s timeout even after the app left (a bug the fuzzer found, fixed; the RSocketAppChannel regression property in
      // test/fuzz/app-session.test.ts); here such a PAYLOAD always carries NEXT.
      { weight: 2, arbitrary: rawFrameArb.map((frame) => ({ kind: 'raw' as const, frame: frame.type === TYPE.PAYLOAD ? { ...frame, flags: frame.flags | FLAG.NEXT } : frame })) },
      { weight: 1, arbitrary: fc.tuple(streamIdArb, appMessage).map(([streamId, data]) => ({ kind: 'payload' as const, streamId, data })) },
    );
    await checkProperty(
      fc.asyncProperty(fc.array(answer, { maxLength: 3 }), fc.array(appFrame, { maxLength: 6 }), async (answers, appFrames) => {
        const pending = [...answers];
        let nextRequest = 101;
        const requests: number[] = [];
        const chunks: Buffer[] = [setupFrame({ data: SETUP({ app: 'Fuzzed App', device: 'fuzz-secure', csr: host.fuzzer.csr, csr_path: host.fuzzer.stateDir }) })];
        for (const f of appFrames) {
          if (f.kind === 'fnf') chunks.push(requestFrame('fnf', 0x1001, f.data));
          else if (f.kind === 'request') {
            requests.push(nextRequest);
            chunks.push(requestFrame('response', nextRequest, f.data));
            nextRequest += 2;
          } else if (f.kind === 'payload') chunks.push(answerFrame(f.streamId, f.data));
          else chunks.push(encodeFrame(f.frame));
        }
        // With truthful length prefixes a final probe request delimits the case: once it is answered, every
        // frame before it was handled. A lying prefix swallows what follows: we half-close instead.
        const framingKept = appFrames.every((f) => f.kind !== 'raw' || f.frame.declaredLength === undefined);
        if (framingKept) {
          requests.push(nextRequest);
          chunks.push(requestFrame('response', nextRequest, JSON.stringify({ method: 'probe' })));
        }
        const outcome = await converse({
          connect: tlsTo(host.ports.secure, host.fuzzer), ready: 'secureConnect', waitMs: ANSWER_MS, chunks, end: !framingKept,
          onFrame: (frame, write) => {
            if (frame.type !== TYPE.REQUEST_RESPONSE) return;
            const text = pending.shift();
            if (typeof text === 'string') write(answerFrame(frame.streamId, text));
          },
          until: (fs) => framingKept && requests.every((id) => fs.some((f) => f.streamId === id)),
        });
        watch.assertNothingYet();
        assertClosedOrAnswered(outcome, 'registered app');
        for (const frame of outcome.frames) {
          if (requests.includes(frame.streamId)) assert.equal(frame.type, TYPE.ERROR, 'the host answers app requests on the secure port with an ERROR frame');
        }
        await settle(5);
        watch.assertNothingYet();
      }),
      fuzzParameters(150),
    );
    await afterProperty('registered secure app');
  });

  it('random bytes after the TLS handshake are closed after our half-close', async () => {
    await checkProperty(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.concat([setupFrame({ data: '{oops' }), b]))), async (bytes) => {
        const outcome = await converse({ connect: tlsTo(host.ports.secure, host.fuzzer), ready: 'secureConnect', waitMs: ANSWER_MS, chunks: [bytes], end: true });
        watch.assertNothingYet();
        assert.ok(outcome.closed, `not closed within ${ANSWER_MS} ms`);
        assert.equal(outcome.unparsable, undefined);
      }),
      fuzzParameters(120),
    );
    await afterProperty('random bytes over TLS');
  });

  it('every connection either port closes gives its admission slot back (the limits are per source: a leak locks 127.0.0.1 out)', async () => {
    // The fuzz host raises the admission limits so the other properties can run; this property checks the
    // accounting itself: with the defaults (64 per source) a leaked slot per connection would make every
    // port refuse 127.0.0.1 after 64 connections, bystanders' reconnections included.
    await checkProperty(
      fc.asyncProperty(fc.boolean(), fc.oneof(notJsonText, identityTree().map(toJsonText), fc.constant(undefined)), fc.boolean(), async (secure, data, weClose) => {
        const before = host.gate.unauthenticated;
        await converse({
          connect: secure ? tlsTo(host.ports.secure, host.fuzzer) : tcp(host.ports.insecure), ready: secure ? 'secureConnect' : 'connect',
          chunks: data === undefined ? [] : [setupFrame({ data })], end: weClose, waitMs: 100, until: (fs) => fs.some((f) => isError(f, 0) || isHostRequest(f)),
        });
        watch.assertNothingYet();
        await until(() => host.gate.unauthenticated <= before, 2_000, `the admission slot to be released (unauthenticated: ${host.gate.unauthenticated}, before: ${before})`);
      }),
      fuzzParameters(50),
    );
    await afterProperty('admission slots');
  });

  // Regression properties for bugs this fuzzer found (all fixed): each failed before its fix.

  it('a valid SETUP carrying a fragmented request cannot make the exchange port buffer more than the unauthenticated frame limit', async () => {
    await checkProperty(
      fc.asyncProperty(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 30_000, max: 60_000 }), async (megabytes, fragment) => {
        const count = Math.ceil((megabytes * 1_000_000) / fragment);
        const body = Buffer.alloc(fragment, 0x78);
        const chunks = [setupFrame({ data: SETUP() }), ...Array.from({ length: count }, () => encodeFrame({ type: TYPE.REQUEST_RESPONSE, flags: FLAG.FOLLOWS, streamId: 1, body }))];
        const outcome = await converse({ connect: tcp(host.ports.insecure), ready: 'connect', chunks, waitMs: 1_000 });
        assert.ok(outcome.closed, `the exchange port accepted ${megabytes} MB of fragments of one unauthenticated request`);
      }),
      fuzzParameters(2, 20_000, { shrink: false }),
    );
  });

  it('a message that makes AppSession.receive throw is handled without an exception escaping to rsocket-js', async () => {
    await checkProperty(
      fc.asyncProperty(receiveTriggerText, async (text) => {
        await converse({
          connect: tlsTo(host.ports.secure, host.fuzzer), ready: 'secureConnect', waitMs: ANSWER_MS,
          chunks: [setupFrame({ data: SETUP({ app: 'Fuzzed App', device: 'fuzz-throw', csr: host.fuzzer.csr }) }), requestFrame('fnf', 1, text), requestFrame('response', 3, '{}')],
          until: (fs) => fs.some((f) => f.streamId === 3),
        });
        watch.assertNothingYet();
      }),
      fuzzParameters(5, 10_000, { shrink: false }),
    );
  });

  it('an app certified as another app cannot displace a connected app by naming its client id', async () => {
    const bystander = host.bystanders[0]!.session;
    const fields = { os: bystander.query.os, device: bystander.query.device, app: bystander.query.app, device_id: bystander.query.deviceId };
    // The bystander's identity with some fields changed; its exact client id is always the first case.
    const near = fc.subarray(Object.keys(fields)).map((changed) =>
      Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, changed.includes(key) ? `${value}x` : value])));
    try {
      await checkProperty(
        fc.asyncProperty(near, async (identity) => {
          await converse({
            connect: tlsTo(host.ports.secure, host.fuzzer), ready: 'secureConnect', waitMs: 250,
            chunks: [setupFrame({ data: JSON.stringify({ ...identity, sdk_version: 4, medium: 1, csr: host.fuzzer.csr }) })],
            onFrame: (frame, write) => {
              if (frame.type === TYPE.REQUEST_RESPONSE) write(answerFrame(frame.streamId, JSON.stringify({ success: { plugins: ['demo'] } })));
            },
          });
          await host.checkBystanders('impostor');
        }),
        { ...fuzzParameters<[Record<string, string>]>(8, 10_000, { shrink: false }), examples: [[fields]] },
      );
    } finally {
      // The displaced bystander reconnects by itself: adopt its new session so the final checks see it.
      host.bystanders[0]!.session = await until(() => host.registry.list().find((s) => s.query.device === bystander.query.device && s.appId === bystander.appId && !s.isClosed), 10_000, 'the bystander to be back');
    }
  });

});
