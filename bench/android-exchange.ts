import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ADB_BINARY, type PrivateAdbServer, adbAvailable, startPrivateAdbServer } from '../test/helpers/fake-adb/adb-server.js';
import { FakeAndroidDevice } from '../test/helpers/fake-adb/fake-android-device.js';
import { type FlipperServerChild, startFlipperServerChild } from './flipper-server-process.js';
import { registerCleanup, sleep } from './processes.js';
import { type AppIdentity, type ExchangeTarget, makeIdentity, timedExchange } from './raw-app.js';
import { type SonarhostChild, startSonarhostChild } from './sonarhost-process.js';
import { type ExchangeKindResult } from './exchange-latency.js';
import { summarize } from './stats.js';

const APP = 'com.example.benchdroid';
const FOLDER = `/data/data/${APP}/files/sonar/`;

export interface AndroidExchangeResult extends ExchangeKindResult {
  perHost: number;
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
  const unregister = registerCleanup(async () => {
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
      extra: {
        plugins: { transports: ['rsocket'], deviceTransports: ['android'], services: [] },
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
        if (await one(name, false)) ok++;
        else await sleep(250);
      }
      if (ok === 0) base.errors.push(`${name}: no successful Android exchange within 30 s of warm-up`);
    }
    for (let i = 0; i < options.perHost && Date.now() < options.deadline; i++) {
      const order = i % 2 === 0 ? (['sonarhost', 'flipper'] as const) : (['flipper', 'sonarhost'] as const);
      for (const name of order) await one(name, true);
    }
  } finally {
    await sonarhost?.stop();
    await flipper?.stop();
    await device?.stop().catch(() => undefined);
    await adb?.stop().catch(() => undefined);
    unregister();
  }
  const a = samples.sonarhost.length ? summarize(samples.sonarhost) : undefined;
  const b = samples.flipper.length ? summarize(samples.flipper) : undefined;
  return { ...base, sonarhost: a, flipper: b, ratioP50: a && b ? b.p50 / a.p50 : undefined, ratioP95: a && b ? b.p95 / a.p95 : undefined, flipperSkipped };
}
