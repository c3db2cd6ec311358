import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AppChannel } from '../../src/core/app-channel.js';
import { AppSession } from '../../src/core/app-session.js';
import { CertificateExchangeMedium } from '../../src/core/client-query.js';
import { HostError } from '../../src/core/host-error.js';
import { MemoryLogger } from '../helpers/fakes.js';

/** An app that never answers: the channel holds each request, as the real ones do, until it is cancelled. */
class SilentChannel implements AppChannel {
  sent = 0;
  cancelled = 0;
  private readonly held = new Set<number>();
  get pendingRequests(): number {
    return this.held.size;
  }
  requestResponse(id: number, _data: string, cancel: AbortSignal): Promise<string> {
    this.sent++;
    this.held.add(id);
    return new Promise((_, reject) => {
      cancel.addEventListener('abort', () => {
        this.cancelled++;
        this.held.delete(id);
        reject(cancel.reason as Error);
      });
    });
  }
  fireAndForget(): void {}
  close(): void {}
}

const query = { os: 'Linux', device: 'd', app: 'A', deviceId: '', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS };
const events = { onEvent: () => undefined, onRefreshPlugins: () => undefined };

describe('AppSession', () => {
  it('bounds the requests waiting for an answer, and frees a slot when one times out', async () => {
    const channel = new SilentChannel();
    const session = new AppSession('id', query, 'a', channel, events, new MemoryLogger(), 50, 2);
    const first = session.request('getPlugins');
    const second = session.request('getPlugins');
    await assert.rejects(session.request('getPlugins'), /2 requests to A are already waiting for an answer/);
    assert.equal(channel.sent, 2, 'the refused request never reached the app');
    await assert.rejects(first, /did not finish within 50 ms/);
    await assert.rejects(second, /did not finish within 50 ms/);
    await assert.rejects(session.request('getPlugins'), /did not finish within 50 ms/, 'slots are free again');
    assert.equal(channel.cancelled, 3, 'every timed-out request was cancelled in the channel');
    assert.equal(session.pendingRequests, 0, 'the channel holds nothing for requests nobody waits for');
  });

  it('cancels in the channel the requests that close() ended', async () => {
    const channel = new SilentChannel();
    const session = new AppSession('id', query, 'a', channel, events, new MemoryLogger(), 10_000, 10);
    const waiting = [session.request('getPlugins'), session.request('getPlugins')];
    assert.equal(session.pendingRequests, 2);
    session.close();
    for (const request of waiting) await assert.rejects(request, (error: unknown) => HostError.is(error, 'client-disconnected'));
    assert.equal(session.pendingRequests, 0);
  });

  it("names the app in what it logs: sessions share one logger, so the fields are the session's own", () => {
    const log = new MemoryLogger();
    const channel: AppChannel = { requestResponse: async () => '{}', fireAndForget: () => undefined, close: () => undefined, pendingRequests: 0 };
    new AppSession('id', query, 'a', channel, events, log).receive('{not json');
    new AppSession('id2', { ...query, app: 'B', device: 'e' }, 'b', channel, events, log).receive('{"error":{"message":"boom"}}');
    const warnings = log.records.filter((r) => r.level === 'warn');
    assert.deepEqual(
      warnings.map((r) => [r.message, r.fields.app, r.fields.os, r.fields.device]),
      [
        ['ignored a malformed message from the app', 'A', 'Linux', 'd'],
        ['the app reported an error', 'B', 'Linux', 'e'],
      ],
    );
    assert.equal(warnings[1]!.fields.error, 'boom');
  });

  it('keeps nothing for requests once they ended (sdk_version 0 answers by fire-and-forget)', async () => {
    const sent: string[] = [];
    const answering: { session?: AppSession } = {};
    const channel: AppChannel = {
      requestResponse: async () => assert.fail('sdk_version 0 is asked by fire-and-forget'),
      fireAndForget: (data) => {
        sent.push(data);
        const { id } = JSON.parse(data) as { id: number };
        queueMicrotask(() => answering.session!.receive(JSON.stringify({ id, success: { plugins: ['p'] } })));
      },
      close: () => undefined,
      pendingRequests: 0,
    };
    const session = new AppSession('id', { ...query, sdkVersion: 0 }, 'a', channel, events, new MemoryLogger());
    answering.session = session;
    assert.deepEqual(await session.request('getPlugins'), { plugins: ['p'] });
    assert.equal(session.pendingRequests, 0);
    const waiting = session.request('getBackgroundPlugins');
    assert.equal(session.pendingRequests, 1, 'a legacy request waits in the session until its answer arrives');
    await waiting;
    assert.equal(session.pendingRequests, 0);
    assert.equal(sent.length, 2);
  });

  it('treats a present success key as success, even when null', async () => {
    const channel: AppChannel = { requestResponse: async (id) => JSON.stringify({ id, success: null }), fireAndForget: () => undefined, close: () => undefined, pendingRequests: 0 };
    const session = new AppSession('id', query, 'a', channel, events, new MemoryLogger());
    assert.equal(await session.request('execute'), null);
  });
});
