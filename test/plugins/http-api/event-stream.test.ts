import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../../src/client/flipper-client.js';
import { MAX_READER_BUFFER_BYTES } from '../../../src/plugins/http-api/event-stream.js';
import { HttpApiService } from '../../../src/plugins/http-api/http-api-service.js';
import { demoPlugin } from '../../helpers/demo-plugin.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { type TestHost, eventually, onlyClient, startTestHost, withApi } from '../../helpers/test-host.js';

const FLOOD_EVENTS = 3_000;
const PARAM_BYTES = 8 * 1024;

/** /api/events under a stalled reader (issue 13, item 3): bounded buffers, one log line, the others unaffected. */
describe('the event stream', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  let api: HttpApiService;
  let token: string;
  let client: FlipperClient;
  const plugin = demoPlugin();

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir, withApi);
    api = host.container.get(HttpApiService);
    token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
    client = new FlipperClient({
      appId: 'com.example.flood', appName: 'Flood', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: host.ports, plugins: [plugin], reconnectMs: 50,
    });
    client.start();
    await eventually(() => onlyClient(host.registry) && plugin.connection, 'the client');
  });
  after(async () => {
    await client.stop();
    await host.stop();
    await cleanup();
  });

  it('releases readers that closed', async () => {
    const baseline = api.eventStreams.readerCount;
    for (let i = 0; i < 20; i++) {
      const response = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: host.apiPort, path: '/api/events', headers: { authorization: `Bearer ${token}` } }, resolve).on('error', reject));
      assert.equal(response.statusCode, 200);
      response.destroy();
    }
    await eventually(() => api.eventStreams.readerCount === baseline && api.feed.readerCount === baseline, 'the closed readers to be released');
  });

  it('drops a reader that stops reading, with one log line, while another reader gets every event', async () => {
    // A reader that reads everything.
    let live = '';
    let floodSeen = 0;
    const liveResponse = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: host.apiPort, path: '/api/events', headers: { authorization: `Bearer ${token}` } }, resolve).on('error', reject));
    liveResponse.setEncoding('utf8');
    liveResponse.on('data', (text: string) => {
      live += text;
      const parts = live.split('"method":"flood"');
      floodSeen += parts.length - 1;
      live = parts.at(-1)!;
    });

    // A reader that sends its request and then never reads: the socket is paused, so the kernel's
    // buffers fill and everything after that would pile up in the host.
    const stalled = net.connect(host.apiPort!, '127.0.0.1');
    await new Promise((resolve) => stalled.once('connect', resolve));
    stalled.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${host.apiPort}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    stalled.pause();
    let stalledClosed = false;
    stalled.once('close', () => (stalledClosed = true));
    await eventually(() => api.eventStreams.readerCount === 2, 'both readers');

    const payload = 'x'.repeat(PARAM_BYTES);
    // Paced by the reading reader only (it shares this process's event loop with the host and the app),
    // so it is never more than one batch behind; the stalled one falls further behind with every batch.
    for (let i = 0; i < FLOOD_EVENTS; i++) {
      plugin.connection!.send('flood', { i, payload });
      if (i % 50 === 49) await eventually(() => floodSeen >= i + 1 - 50, 'the reading reader to keep up', 30_000);
    }
    await eventually(() => floodSeen === FLOOD_EVENTS, `all ${FLOOD_EVENTS} events at the reading reader (saw ${floodSeen})`, 60_000);

    const drops = host.logger.records.filter((r) => r.message === 'dropped an event-stream reader that fell behind');
    assert.equal(drops.length, 1, 'one log line for the one stalled reader');
    assert.equal(drops[0]!.level, 'warn');
    assert.equal(api.eventStreams.readerCount, 1, 'the stalled reader is released, the reading one stays');
    const oneEvent = PARAM_BYTES + 1024;
    assert.ok(api.eventStreams.peakBufferedBytes <= MAX_READER_BUFFER_BYTES + oneEvent, `the host buffered at most the limit plus one event for any reader (peak ${api.eventStreams.peakBufferedBytes})`);
    // ~25 MB went out in total: far more than the limit and the kernel's socket buffers together.
    assert.ok(FLOOD_EVENTS * PARAM_BYTES > 10 * MAX_READER_BUFFER_BYTES);
    stalled.resume();
    await eventually(() => stalledClosed, 'the stalled socket to be closed by the host');
    liveResponse.destroy();
  });
});
