import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { freePorts } from '../helpers/free-ports.js';
import { SETUP, rawExchange } from '../helpers/raw-rsocket.js';
import { CLI_PATH } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/** The examples/ plugins, loaded by path from a config file by the real binary, as a user would. */
describe('example plugins loaded from a config file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ path: dir, cleanup } = await makeTempDir()));
  afterEach(() => cleanup());

  it('a custom device transport and a custom connection handler work in a running host', async () => {
    const [insecure, secure] = await freePorts(2);
    const vmRoot = join(dir, 'vm-rootfs');
    const appFolder = join(vmRoot, 'home', 'app', 'sonar');
    await mkdir(appFolder, { recursive: true });
    const events = join(dir, 'events.jsonl');
    const configFile = join(dir, 'sonarhost.config.json');
    await writeFile(configFile, JSON.stringify({
      host: '127.0.0.1',
      ports: { insecure, secure },
      webSocket: { insecure: false, secure: false, browser: false },
      api: { port: false },
      certDir: './certs',
      plugins: {
        // Order matters: the first transport whose serves() accepts a request handles it, so the specific one comes first.
        deviceTransports: [join(EXAMPLES, 'mounted-folder-transport.js'), 'desktop'],
        connectionHandlers: [join(EXAMPLES, 'event-recorder-handler.js')],
      },
      pluginOptions: { 'mounted-folders': { devices: { 'vm-1': vmRoot } }, 'event-recorder': { file: events, plugins: ['demo'] } },
    }));
    const child = spawn(process.execPath, [CLI_PATH, 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const client = new FlipperClient({
      appId: 'com.example.recorded', appName: 'Recorded', os: 'Linux', device: 'box', stateDir: join(dir, 'app', 'sonar'),
      host: '127.0.0.1', ports: { insecure, secure }, plugins: [demoPlugin()], reconnectMs: 100,
    });
    try {
      await eventually(() => logs.includes('listening (insecure)'), `the host to listen; logs:\n${logs}`);
      assert.match(logs, /"plugins":\[.*"device-transport:mounted-folders".*"connection-handler:event-recorder"/);

      // The custom transport: an app in "vm-1" names its folder as the VM sees it.
      const csr = await createCsr('com.example.invm', await generateRsaKeyPair());
      await writeFile(join(appFolder, 'app.csr'), csr);
      const reply = await rawExchange(insecure, SETUP({ device: 'vm-1', app: 'In VM' }), JSON.stringify({ method: 'signCertificate', csr, destination: '/home/app/sonar/', medium: 1 }));
      assert.deepEqual(JSON.parse(reply.data!), { deviceId: 'mounted:vm-1' });
      assert.deepEqual((await readdir(appFolder)).sort(), ['app.csr', 'device.crt', 'sonarCA.crt']);

      // The custom handler: it claims "demo", so the host inits it and its events are recorded.
      client.start();
      await eventually(async () => (await readFile(events, 'utf8').catch(() => '')).includes('"method":"ready"'), 'the recorded ready event');
      const lines = (await readFile(events, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines[0]!.type, 'connected');
      assert.equal(lines[0]!.appId, 'com.example.recorded');
      assert.deepEqual(lines.find((l) => l.type === 'event'), { at: lines.find((l) => l.type === 'event')!.at, type: 'event', client: 'Recorded#Linux#box#', plugin: 'demo', method: 'ready', params: { plugin: 'demo' } });
    } finally {
      await client.stop();
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
