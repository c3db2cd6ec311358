import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type ClientPlugin, describeConnectionHandlerConformance, startPluginHost } from 'sonarhost/testing';
import { ConnectionHandler } from 'sonarhost/plugin-api';
import plugin, { type EventRecorder } from '../src/index.js';

describeConnectionHandlerConformance({ plugin, pluginOptions: (root) => ({ 'event-recorder': { file: join(root, 'events.jsonl'), plugins: ['demo'] } }) });

test('records the connection and the events of the claimed plugin of a real app', async () => {
  const root = await mkdtemp(join(tmpdir(), 'event-recorder-test-'));
  const events = join(root, 'events.jsonl');
  const host = await startPluginHost({ plugin, pluginOptions: { 'event-recorder': { file: events, plugins: ['demo'] } } });
  // A background plugin: the host inits it because the recorder claims it, and it answers with an event.
  const demo: ClientPlugin = { id: 'demo', runInBackground: true, onConnect: (connection) => connection.send('ready', { n: 1 }) };
  try {
    await host.connectApp({ appId: 'com.example.recorded', appName: 'Recorded', stateDir: join(root, 'app', 'sonar'), plugins: [demo] });
    let text = '';
    for (let i = 0; i < 200 && !text.includes('"method":"ready"'); i++) {
      await delay(50);
      text = await readFile(events, 'utf8').catch(() => '');
    }
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines[0]!.type, 'connected');
    assert.equal(lines[0]!.appId, 'com.example.recorded');
    assert.deepEqual({ ...lines.find((l) => l.type === 'event'), at: undefined }, { at: undefined, type: 'event', client: 'Recorded#Linux#test machine#', plugin: 'demo', method: 'ready', params: { n: 1 } });
  } finally {
    await host.stop();
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
});

test('a relative file is written next to the config file, not into the working folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'event-recorder-test-'));
  const host = await startPluginHost({ plugin, pluginOptions: { 'event-recorder': { file: 'events.jsonl' } }, configDir: root });
  try {
    const [recorder] = host.container.getAll<EventRecorder>(ConnectionHandler);
    assert.equal(recorder!.file, join(root, 'events.jsonl'));
  } finally {
    await host.stop();
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
});
