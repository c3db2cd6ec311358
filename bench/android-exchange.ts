import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ADB_BINARY, type PrivateAdbServer, adbAvailable, startPrivateAdbServer } from '../test/helpers/fake-adb/adb-server.js';
import { FakeAndroidDevice } from '../test/helpers/fake-adb/fake-android-device.js';
import { devicePorts } from '../test/helpers/device-ports.js';
import { type FlipperServerChild, startFlipperServerChild } from './flipper-server-process.js';
import { registerCleanup, sleep, waitUntil } from './processes.js';
import { type AppIdentity, type ExchangeTarget, makeIdentity, timedExchange } from './raw-app.js';
import { type SonarhostChild, startSonarhostChild } from './sonarhost-process.js';
import { type ExchangeKindResult } from './exchange-latency.js';
import { summarize } from './stats.js';
import { timedWsExchange } from './ws-app.js';

const APP = 'com.example.benchdroid';
const FOLDER = `/data/data/${APP}/files/sonar/`;
const MIN_ROUNDS = 5;

export interface AndroidExchangeResult extends ExchangeKindResult {
  perHost: number;
  /** The WebSocket-era exchange (9089), the app dialling localhost on the device through `adb reverse`. */
  ws?: ExchangeKindResult;
  skipped?: string;
  flipperSkipped?: string;
}

/**
 * Row 2: the Android certificate exchange through the real adb server (a private one, on its own port
 * and HOME) and the fake device daemon of test/helpers/fake-adb: each host finds the device whose
 * `run-as <app> cat …/app.csr` equals the CSR, then writes sonarCA.crt and device.crt through run-as.
 * Same raw exchange, same device, interleaved A, B, B, A…
 */
export async function measureAndroidExchange(dir: string, options: { perHost: number; deadline: number; flipperReason?: string }): Promise<AndroidExchangeResult> {
  const base: AndroidExchangeResult = { perHost: options.perHost, errors: [] };
  if (!adbAvailable()) return { ...base, skipped: `adb is not installed (${ADB_BINARY}); apt-get install adb` };
  const identity: AppIdentity = await makeIdentity(APP, 'BenchDroid');
  let adb: PrivateAdbServer | undefined;
  let device: FakeAndroidDevice | undefined;
  let sonarhost: SonarhostChild | undefined;
  let flipper: FlipperServerChild | undefined;
  let flipperSkipped = options.flipperReason;
  const samples = { sonarhost: [] as number[], flipper: [] as number[] };
  const wsSamples = { sonarhost: [] as number[], flipper: [] as number[] };
  const wsErrors: string[] = [];
  let reversed: Awaited<ReturnType<typeof devicePorts>> | undefined;
  const unregister = registerCleanup(async () => {
    await reversed?.stop().catch(() => undefined);
    await device?.stop().catch(() => undefined);
    await adb?.stop().catch(() => undefined);
  });
  try {
    adb = await startPrivateAdbServer();
    device = new FakeAndroidDevice({ packages: [{ package: APP, debuggable: true }] });
    await device.start();
    const serial = await device.attach(adb);
    const csrPath = await device.fs.hostPath(FOLDER + 'app.csr');
    await mkdir(dirname(csrPath), { recursive: true });
    await writeFile(csrPath, identity.csr);

    sonarhost = await startSonarhostChild(dir, {
      certDir: join(dir, 'sonarhost-certs'),
      webSocket: true,
      profile: 'android-sonarhost',
      extra: {
        plugins: { transports: ['rsocket', 'websocket'], deviceTransports: ['android'], services: [] },
        pluginOptions: { android: { adbPath: ADB_BINARY, adbServerPort: adb.port, startServer: false } },
        limits: { exchangesPerMinutePerSource: 1_000_000 },
      },
    });
    if (!flipperSkipped) {
      try {
        const sdk = join(dir, 'android-sdk');
        await mkdir(join(sdk, 'platform-tools'), { recursive: true });
        await symlink(ADB_BINARY, join(sdk, 'platform-tools', 'adb'));
        flipper = await startFlipperServerChild(join(dir, 'flipper-home'), { enableAndroid: true, androidHome: sdk }, { ANDROID_ADB_SERVER_PORT: String(adb.port) });
      } catch (error) {
        flipperSkipped = (error as Error).message.split('\n')[0];
      }
    }
    const target: ExchangeTarget = { os: 'Android', device: 'Fake Pixel - 11 - API 30', folder: FOLDER };
    // WebSocket era through the device: each host sets up `adb reverse` for its 9089 on its own schedule.
    const wsDevicePorts = { sonarhost: sonarhost.wsPorts!.insecure, flipper: flipper?.ports.wsInsecure };
    const wanted = Object.values(wsDevicePorts).filter((p): p is number => p !== undefined);
    try {
      await waitUntil(() => wanted.every((p) => device!.reverses.get(`tcp:${p}`) !== undefined), 'both hosts to set up adb reverse for their WebSocket exchange port', 30_000, 50);
    } catch (error) {
      wsErrors.push((error as Error).message);
    }
    reversed = await devicePorts(device, wanted);
    const wsOne = async (name: 'sonarhost' | 'flipper', record: boolean): Promise<boolean> => {
      const port = wsDevicePorts[name];
      if (port === undefined || reversed?.local[port] === undefined) return true;
      try {
        const { ms, deviceId } = await timedWsExchange(reversed.local[port], identity, target);
        if (deviceId !== serial) throw new Error(`answered deviceId ${JSON.stringify(deviceId)}, expected ${JSON.stringify(serial)}`);
        if (record) wsSamples[name].push(ms);
        return true;
      } catch (error) {
        if (record && wsErrors.length < 5) wsErrors.push(`${name}: ${(error as Error).message.split('\n')[0]}`);
        return false;
      }
    };
    const one = async (name: 'sonarhost' | 'flipper', record: boolean): Promise<boolean> => {
      const port = name === 'sonarhost' ? sonarhost!.ports.insecure : flipper?.ports.insecure;
      if (port === undefined) return true;
      try {
        const { ms, deviceId } = await timedExchange(port, identity, target);
        if (deviceId !== serial) throw new Error(`answered deviceId ${JSON.stringify(deviceId)}, expected ${JSON.stringify(serial)}`);
        if (record) samples[name].push(ms);
        return true;
      } catch (error) {
        if (record && base.errors.length < 5) base.errors.push(`${name}: ${(error as Error).message.split('\n')[0]}`);
        return false;
      }
    };
    // Warm-up: both hosts must first see the device (they track adb on their own schedule).
    for (const name of ['sonarhost', 'flipper'] as const) {
      let ok = 0;
      const until = Date.now() + 30_000;
      while (ok < 3 && Date.now() < until) {
        if ((await one(name, false)) && (await wsOne(name, false))) ok++;
        else await sleep(250);
      }
      if (ok === 0) base.errors.push(`${name}: no successful Android exchange within 30 s of warm-up`);
    }
    // At least a few rounds even when a loaded machine spent the time budget warming up.
    for (let i = 0; i < options.perHost && (i < MIN_ROUNDS || Date.now() < options.deadline); i++) {
      const order = i % 2 === 0 ? (['sonarhost', 'flipper'] as const) : (['flipper', 'sonarhost'] as const);
      for (const name of order) await one(name, true);
      for (const name of order) await wsOne(name, true);
    }
  } finally {
    await reversed?.stop().catch(() => undefined);
    await sonarhost?.stop();
    await flipper?.stop();
    await device?.stop().catch(() => undefined);
    await adb?.stop().catch(() => undefined);
    unregister();
  }
  const a = samples.sonarhost.length ? summarize(samples.sonarhost) : undefined;
  const b = samples.flipper.length ? summarize(samples.flipper) : undefined;
  const c = wsSamples.sonarhost.length ? summarize(wsSamples.sonarhost) : undefined;
  const d = wsSamples.flipper.length ? summarize(wsSamples.flipper) : undefined;
  const ws: ExchangeKindResult = { sonarhost: c, flipper: d, ratioP50: c && d ? d.p50 / c.p50 : undefined, ratioP95: c && d ? d.p95 / c.p95 : undefined, errors: wsErrors };
  return { ...base, ws, sonarhost: a, flipper: b, ratioP50: a && b ? b.p50 / a.p50 : undefined, ratioP95: a && b ? b.p95 / a.p95 : undefined, flipperSkipped };
}
