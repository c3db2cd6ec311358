import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AppChannel } from '../../src/core/app-channel.js';
import { AppSession } from '../../src/core/app-session.js';
import { CertificateExchangeMedium } from '../../src/core/client-query.js';
import { MemoryLogger } from '../helpers/fakes.js';

/** An app that never answers: requests pile up. */
class SilentChannel implements AppChannel {
  sent = 0;
  requestResponse(): Promise<string> {
    this.sent++;
    return new Promise(() => undefined);
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
  });

  it('treats a present success key as success, even when null', async () => {
    const channel: AppChannel = { requestResponse: async (id) => JSON.stringify({ id, success: null }), fireAndForget: () => undefined, close: () => undefined };
    const session = new AppSession('id', query, 'a', channel, events, new MemoryLogger());
    assert.equal(await session.request('execute'), null);
  });
});
