import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeUsbWorld } from '../helpers/fake-usbmux/fake-usb-world.js';
import { createPairing } from '../helpers/fake-usbmux/pair-record.js';
import { freePorts } from '../helpers/free-ports.js';
import { writeIsolatedConfig } from '../helpers/host-config-file.js';
import { CLI_PATH, runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually, startTestHost, withApi } from '../helpers/test-host.js';

const READY = '00008110-000A1B2C3D4E5F60';
const UNPAIRED = '00008030-0000111122223333';
const LOCKED = '00008101-0000AAAABBBBCCCC';

/** Physical iPhones in `sonarhost devices`, `doctor` and the API, with their states, through a fake usbmuxd. */
describe('physical iPhones in devices, doctor and the API', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let world: FakeUsbWorld;
  let base: string[];

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('sonarhost-cli-iphone-'));
    world = await FakeUsbWorld.start(dir);
    const pairing = await createPairing(dir);
    const ready = world.phone(READY, "Ada's iPhone", pairing);
    const unpaired = world.phone(UNPAIRED, "Bob's iPhone", pairing);
    unpaired.paired = false;
    const locked = world.phone(LOCKED, "Cy's iPad", pairing);
    locked.locked = true;
    for (const phone of [ready, unpaired, locked]) world.usbmuxd.attach(phone);
    world.usbmuxd.attach(world.phone('00008110-0000000000000WIFI', 'Wi-Fi only', pairing, 'Network'));
    const ports = await freePorts(5);
    base = ['--cert-dir', join(dir, 'certs'), '--host', '127.0.0.1', '--ports', `${ports[0]},${ports[1]}`, '--alt-ports', `${ports[2]},${ports[3]}`, '--browser-port', String(ports[4]), '--flipper-port', 'off'];
  });
  after(async () => {
    await world.stop();
    await cleanup();
  });

  it('sonarhost devices lists USB-attached phones with their states (USBMUXD_SOCKET_ADDRESS honoured)', async () => {
    const result = await runCli(['devices', '--json', ...base], { env: { USBMUXD_SOCKET_ADDRESS: world.usbmuxd.address, PATH: '/nonexistent' } });
    assert.equal(result.code, 0, result.stderr);
    const reports = JSON.parse(result.stdout) as Array<{ transport: string; devices: Array<{ id: string; name: string; state: string; details: Record<string, string> }>; problem?: string }>;
    const ios = reports.find((r) => r.transport === 'ios-physical');
    assert.deepEqual(
      ios?.devices.map((d) => [d.id, d.name, d.state]),
      [
        [READY, "Ada's iPhone", 'ready'],
        [UNPAIRED, 'iPhone or iPad', 'not-paired'],
        [LOCKED, "Cy's iPad", 'locked'],
      ],
    );
    assert.match(ios!.devices[1]!.details.problem!, /tap "Trust"/);
    assert.match(ios!.devices[2]!.details.problem!, /Unlock it/);

    const text = await runCli(['devices', ...base], { env: { USBMUXD_SOCKET_ADDRESS: `unix:${join(dir, 'gone')}`, PATH: '/nonexistent' } });
    assert.match(text.stdout, /ios-physical:\n {2}unavailable: usbmuxd is not running: iPhones and iPads over USB are off — .* \(sonarhost doctor says more\)\n/);
  });

  it('without usbmuxd: start logs it once at debug, devices shows one line, doctor the advice (issue 23)', async () => {
    const gone = `unix:${join(dir, 'no-usbmuxd.sock')}`;
    const [insecure, secure] = await freePorts(2);
    const config = await writeIsolatedConfig(dir, { insecure: insecure!, secure: secure! }, {
      plugins: { deviceTransports: ['desktop', 'ios-physical'] },
      pluginOptions: { 'ios-physical': { usbmuxdSocket: gone } },
    });
    const child = spawn(process.execPath, [CLI_PATH, 'start', '--config', config, '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    try {
      await eventually(() => logs.includes('physical iPhones and iPads are not followed'), 'the usbmuxd line', 20_000);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: string });
    const usbmuxd = lines.filter((l) => /usbmuxd/.test(JSON.stringify(l)));
    assert.deepEqual(usbmuxd.map((l) => l.level), ['debug'], `one debug line, nothing at info or above:\n${logs}`);

    const devices = await runCli(['devices', ...base], { env: { USBMUXD_SOCKET_ADDRESS: gone, PATH: '/nonexistent' } });
    const line = devices.stdout.split('\n').find((l) => l.includes('usbmuxd'));
    assert.ok(line !== undefined && line.length < 140, `one short line: ${devices.stdout}`);
    const doctor = await runCli(['doctor', ...base], { env: { USBMUXD_SOCKET_ADDRESS: gone, PATH: '/nonexistent' } });
    assert.match(doctor.stdout, /iOS devices \(usbmuxd\): usbmuxd is not running \(there is no usbmuxd socket at .*no-usbmuxd\.sock\).*sudo apt install usbmuxd.*USBMUXD_SOCKET_ADDRESS/);
  });

  it('sonarhost doctor checks usbmuxd and each phone, with fixes', async () => {
    const result = await runCli(['doctor', ...base], { env: { USBMUXD_SOCKET_ADDRESS: world.usbmuxd.address, PATH: '/nonexistent' } });
    assert.match(result.stdout, /ok {4}iOS devices \(usbmuxd\): usbmuxd at .*usbmuxd\.sock: 3 attached over USB/);
    assert.match(result.stdout, new RegExp(`ok {4}iOS device ${READY}: Ada's iPhone, iOS 17\\.5\\.1: paired and unlocked`));
    assert.match(result.stdout, new RegExp(`warn {2}iOS device ${UNPAIRED}: not-paired\\n {6}fix: .*idevicepair pair`));
    assert.match(result.stdout, new RegExp(`warn {2}iOS device ${LOCKED}: locked\\n {6}fix: .*Unlock it`));
  });

  it('the API lists them too', async () => {
    const host = await startTestHost(dir, (config) => {
      withApi(config);
      config.plugins.deviceTransports = ['ios-physical'];
      config.pluginOptions['ios-physical'] = { usbmuxdSocket: world.usbmuxd.address, forwardPorts: false };
    });
    try {
      const token = (await readFile(join(host.config.certDir, 'api.token'), 'utf8')).trim();
      const body = await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: host.apiPort, path: '/api/devices', headers: { authorization: `Bearer ${token}` } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      assert.match(body, new RegExp(`"id":"${READY}"[^}]*"state":"ready"`));
      assert.match(body, new RegExp(`"id":"${UNPAIRED}"[^}]*"state":"not-paired"`));
      assert.match(body, new RegExp(`"id":"${LOCKED}"[^}]*"state":"locked"`));
      assert.doesNotMatch(body, /WIFI/);
    } finally {
      await host.stop();
    }
  });
});
