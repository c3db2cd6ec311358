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

  it('treats a present success key as success, even when null', async () => {
    const channel: AppChannel = { requestResponse: async (id) => JSON.stringify({ id, success: null }), fireAndForget: () => undefined, close: () => undefined, pendingRequests: 0 };
    const session = new AppSession('id', query, 'a', channel, events, new MemoryLogger());
    assert.equal(await session.request('execute'), null);
  });
});
