import { type Device } from '@devicefarmer/adbkit';
import { inject, injectable } from 'inversify';
import { type Disposable, toDisposable } from '../../core/disposable.js';
import { HostConfig } from '../../core/host-config.js';
import { HostError, describeError } from '../../core/host-error.js';
import { HostEvents } from '../../core/host-events.js';
import { type HostService } from '../../core/host-service.js';
import { Logger } from '../../core/logger.js';
import { adbServerAddress, findAdb } from './adb-location.js';
import { AdbBridge } from './adb-bridge.js';

export interface AndroidDevice {
  serial: string;
  /** adb's state: `device`, `emulator`, `offline`, `unauthorized`, … */
  state: string;
  model?: string;
  apiLevel?: string;
  /** An emulator rather than a phone: by its serial (`emulator-5554`) or its properties (see `isEmulator`). */
  emulator?: boolean;
  /** Ports for which `adb reverse tcp:P tcp:P` is in place. */
  reversed: number[];
  reverseProblem?: string;
  /** True in adb's `device` or `emulator` state. */
  online: boolean;
  /**
   * Which online session this is: a new number each time the device comes online, so what was learnt
   * about it (the Android transport's matches) is dropped when it goes offline, away, or comes back.
   */
  session: number;
}

const ONLINE = new Set(['device', 'emulator']);

/**
 * Whether a device is an emulator: the serial the emulator gives itself (`emulator-5554`), or the
 * properties Android emulator images set (`ro.kernel.qemu`, on newer images `ro.boot.qemu` = 1; the
 * goldfish and ranchu virtual boards), which also tell an emulator reached over `adb connect`. Anything else counts as a phone; so does a device whose properties
 * could not be read.
 */
export function isEmulator(serial: string, props: Record<string, string> = {}): boolean {
  if (/^emulator-\d+$/.test(serial)) return true;
  if (props['ro.kernel.qemu'] === '1' || props['ro.boot.qemu'] === '1') return true;
  return ['ro.hardware', 'ro.boot.hardware'].some((key) => props[key] === 'goldfish' || props[key] === 'ranchu');
}
const MAX_BACKOFF_MS = 10_000;
const RECONCILE_MS = 2_000;

export interface AndroidOptions {
  adbPath?: string;
  /** The adb server to use (default: ADB_SERVER_SOCKET, ANDROID_ADB_SERVER_PORT, else 127.0.0.1:5037). */
  adbServerHost?: string;
  adbServerPort?: number;
  /** Start the adb server when it is not running (default true, as adb itself does). */
  startServer?: boolean;
}

/**
 * Tracks adb devices for as long as the host runs: sets up `adb reverse` for the host's ports when a
 * device comes online, keeps model and API level, and survives adb server restarts (retry with
 * backoff, one log line per outage). When adb is missing, Android support is off and says why.
 */
@injectable()
export class AndroidDevices implements HostService {
  readonly id = 'android-devices';
  readonly phase = 'platforms' as const;
  private readonly log: Logger;
  private readonly devices = new Map<string, AndroidDevice>();
  private bridgeValue: AdbBridge | undefined;
  private unavailable: HostError | undefined;
  private stopped = false;
  /** Online sessions handed out so far (see AndroidDevice.session). */
  private sessions = 0;

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(HostEvents) private readonly events: HostEvents,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('android');
  }

  /** The adb bridge, or the reason Android support is unavailable. */
  bridge(): AdbBridge {
    if (this.bridgeValue) return this.bridgeValue;
    throw this.unavailable ?? new HostError('device-unavailable', 'Android support has not started yet.');
  }

  list(): AndroidDevice[] {
    return [...this.devices.values()];
  }

  online(): AndroidDevice[] {
    return this.list().filter((d) => ONLINE.has(d.state));
  }

  get(serial: string): AndroidDevice | undefined {
    return this.devices.get(serial);
  }

  /** Finds adb and the server address once; afterwards `bridge()` answers or throws the reason. */
  async connect(): Promise<AdbBridge> {
    if (this.bridgeValue) return this.bridgeValue;
    const options = (this.config.pluginOptions.android ?? {}) as AndroidOptions;
    try {
      const address = options.adbServerPort !== undefined ? { host: options.adbServerHost ?? '127.0.0.1', port: options.adbServerPort } : adbServerAddress(process.env);
      this.bridgeValue = new AdbBridge(await findAdb(options.adbPath, process.env), address, options.startServer ?? true);
      return this.bridgeValue;
    } catch (error) {
      this.unavailable = HostError.is(error) ? error : new HostError('device-unavailable', describeError(error));
      throw this.unavailable;
    }
  }

  /**
   * The devices as adb sees them right now, with model, API level and which of the host's ports are
   * reversed: a query only (it sets nothing up), for `sonarhost devices` and the API.
   */
  async snapshot(): Promise<AndroidDevice[]> {
    const bridge = await this.connect();
    const ports = this.hostPorts();
    return Promise.all(
      (await bridge.listDevices()).map(async (device): Promise<AndroidDevice> => {
        const entry: AndroidDevice = { serial: device.id, state: device.type, reversed: [], online: ONLINE.has(device.type), session: this.devices.get(device.id)?.session ?? -1, emulator: isEmulator(device.id) };
        if (!ONLINE.has(device.type)) return entry;
        try {
          const props = await bridge.properties(device.id);
          entry.model = props['ro.product.model'];
          entry.apiLevel = props['ro.build.version.sdk'];
          entry.emulator = isEmulator(device.id, props);
          entry.reversed = (await bridge.reversedPorts(device.id)).filter((p) => ports.includes(p));
        } catch (error) {
          entry.reverseProblem = describeError(error);
        }
        return entry;
      }),
    );
  }

  async start(): Promise<Disposable> {
    this.stopped = false;
    let bridge: AdbBridge;
    try {
      bridge = await this.connect();
    } catch (error) {
      this.log.warn(`Android support is off: ${describeError(error)}`);
      return toDisposable(() => undefined);
    }
    this.log.info('using adb', { adb: bridge.adbPath, server: `${bridge.address.host}:${bridge.address.port}` });
    let tracker: { end(): unknown } | undefined;
    let retry: NodeJS.Timeout | undefined;
    let backoff = 500;
    let outage = false;
    let generation = 0;

    const track = async () => {
      retry = undefined;
      if (this.stopped) return;
      const mine = ++generation;
      try {
        const started = await bridge.client.trackDevices();
        if (mine !== generation || this.stopped) {
          started.end();
          return;
        }
        tracker = started;
        if (outage) this.log.info('the adb server is reachable again');
        outage = false;
        backoff = 500;
        started.on('add', (device: Device) => void this.update(device));
        started.on('change', (device: Device) => void this.update(device));
        started.on('remove', (device: Device) => this.remove(device.id, 'removed'));
        const lost = (why: string) => {
          started.removeAllListeners();
          started.on('error', () => undefined);
          if (!this.stopped && mine === generation) lostServer(why); // a stale tracker's end changes nothing
        };
        started.on('end', () => lost('the adb server closed the connection'));
        started.on('error', (error: Error) => lost(describeError(error)));
      } catch (error) {
        if (mine === generation) lostServer(describeError(error));
      }
    };
    const lostServer = (why: string) => {
      for (const serial of [...this.devices.keys()]) this.remove(serial, 'adb server lost');
      if (!outage) this.log.warn(`lost the adb server (${why}); retrying until it is back`);
      outage = true;
      if (retry) return; // one retry at a time
      retry = setTimeout(() => void track(), backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    };
    // adb 29 does not always push a device's change (from "offline" to "unauthorized" or "device") to
    // trackers: while tracking, compare with a fresh list now and then.
    const reconcile = setInterval(() => {
      if (outage || this.stopped) return;
      void bridge.listDevices().then(
        async (now) => {
          for (const device of now) if (this.devices.get(device.id)?.state !== device.type) await this.update(device);
        },
        () => undefined,
      );
    }, RECONCILE_MS);
    reconcile.unref();
    await track();
    return toDisposable(() => {
      this.stopped = true;
      clearTimeout(retry);
      clearInterval(reconcile);
      tracker?.end();
      this.devices.clear();
    });
  }

  private async update(device: Device): Promise<void> {
    const known = this.devices.get(device.id);
    const entry: AndroidDevice = known ?? { serial: device.id, state: device.type, reversed: [], online: false, session: -1 };
    const previous = known?.state;
    const wasOnline = previous !== undefined && ONLINE.has(previous);
    entry.state = device.type;
    entry.online = ONLINE.has(device.type);
    if (entry.online && !wasOnline) entry.session = ++this.sessions;
    this.devices.set(device.id, entry);
    this.events.emit({ type: 'device', at: new Date().toISOString(), transport: 'android', deviceId: device.id, state: device.type });
    if (device.type === 'unauthorized' && previous !== 'unauthorized') this.log.warn(`Android device ${device.id} is unauthorized: accept the USB debugging prompt on the device`, { deviceId: device.id });
    if (!ONLINE.has(device.type) || wasOnline) {
      if (!ONLINE.has(device.type)) entry.reversed = [];
      return;
    }
    const bridge = this.bridge();
    try {
      const props = await bridge.properties(device.id);
      entry.model = props['ro.product.model'];
      entry.apiLevel = props['ro.build.version.sdk'];
      entry.emulator = isEmulator(device.id, props);
    } catch (error) {
      this.log.debug('could not read device properties', { deviceId: device.id, error: describeError(error) });
    }
    await this.setUpReverse(entry);
    this.log.info('Android device online', { deviceId: device.id, model: entry.model, apiLevel: entry.apiLevel, reversed: entry.reversed });
  }

  /** `adb reverse tcp:P tcp:P` for the ports apps dial on the device, so `localhost` reaches this host. */
  private async setUpReverse(entry: AndroidDevice): Promise<void> {
    const ports = this.hostPorts();
    entry.reversed = [];
    for (const port of ports) {
      try {
        await this.bridge().reverse(entry.serial, port);
        entry.reversed.push(port);
      } catch (error) {
        entry.reverseProblem = `adb reverse tcp:${port} failed: ${describeError(error)}`;
        this.log.warn(
          `adb reverse tcp:${port} failed on ${entry.serial}; apps there cannot reach this host through localhost. ` +
            'Android before 5.0 has no adb reverse (emulators then dial 10.0.2.2: bind with --host 0.0.0.0).',
          { deviceId: entry.serial, error: describeError(error) },
        );
      }
    }
  }

  /** The ports apps dial on the device. */
  private hostPorts(): number[] {
    const { insecure, secure } = this.config.webSocket;
    return [this.config.ports.insecure, this.config.ports.secure, insecure, secure].filter((p): p is number => typeof p === 'number' && p > 0);
  }

  private remove(serial: string, why: string): void {
    if (!this.devices.delete(serial)) return;
    this.log.info('Android device gone', { deviceId: serial, why });
    this.events.emit({ type: 'device', at: new Date().toISOString(), transport: 'android', deviceId: serial, state: 'gone' });
  }
}
