import { type ClientQuery } from './client-query.js';
import { type Disposable } from './disposable.js';
import { type HealthCheck } from './health-check.js';
import { describeError } from './host-error.js';
import { type ParsedCsr } from './x509/csr.js';

/**
 * Carries certificates to a device through its own channel (adb run-as, the simulator's folder on
 * this machine, the local filesystem for desktop apps) and says which device an app runs on.
 * A contribution point: the exchange asks each bound transport whether it serves a request, so the
 * core never branches on the OS.
 */
export const DeviceTransport = Symbol.for('sonarhost.DeviceTransport');

export interface ExchangeRequest {
  query: ClientQuery;
  csr: ParsedCsr;
  /** The app's private certificate folder as sent by the SDK, with its trailing slash. */
  destination: string;
}

/** The device an exchange targets, as found by `locate`. */
export interface DeviceTarget {
  /** What the app gets back as `deviceId` (adb serial, simulator UDID, "" for this computer). */
  deviceId: string;
  /** Transport-specific handle (e.g. the resolved folder), opaque to the core. */
  detail?: unknown;
}

export interface DeviceFile {
  name: 'sonarCA.crt' | 'device.crt';
  contents: string;
}

export interface DeviceTransport {
  readonly id: string;
  /** Whether this transport handles the request (by os, medium, destination shape). Cheap and pure. */
  serves(request: ExchangeRequest): boolean;
  /**
   * Finds the device that holds `app.csr` equal to the request's CSR in `destination` and checks that
   * the folder belongs to the app. Throws a HostError (`device-not-found`, `destination-refused`,
   * `device-unavailable`) with a message that says what to do.
   */
  locate(request: ExchangeRequest): Promise<DeviceTarget>;
  /** Writes the files, in order, into `destination` on that device; nothing outside it. */
  deploy(request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void>;
  /**
   * On the secure connection: the device id to trust for this app (Android re-derives it from the CSR
   * match, as upstream does). Undefined keeps the id the app sent.
   */
  resolveSecureDeviceId?(query: ClientQuery, csr: ParsedCsr, csrPath: string): Promise<string | undefined>;
  /**
   * On the secure connection: the name the app is shown under, when this transport's platform marks
   * it (Android's old SDKs get " (Outdated SDK)", as upstream does). Undefined keeps `query.app`.
   */
  secureAppName?(query: ClientQuery): string | undefined;
  /** The devices this transport knows now, for `sonarhost devices`, doctor and the API. */
  listDevices?(): Promise<DeviceSummary[]>;
  /** Read-only health checks for `sonarhost doctor` (adb found, simulator root present, …). */
  check?(): Promise<HealthCheck[]>;
  /**
   * A PNG of the device's screen (Android: `screencap -p`), for UIs such as Flipper's. Throws a
   * HostError (`device-not-found`, `device-unavailable`, `timeout`) saying why when it cannot.
   */
  takeScreenshot?(deviceId: string, signal?: AbortSignal): Promise<Buffer>;
  /**
   * Follows the device's log (Android: `adb logcat`) until the returned Disposable is disposed; each
   * line arrives parsed. Starts at the current end of the log. Problems (device gone, stream ended)
   * reach `onEnd` once, after which no more entries arrive.
   */
  followLogs?(deviceId: string, onEntry: (entry: DeviceLogEntry) => void, onEnd?: (error?: Error) => void): Disposable;
}

/** One line of a device's log, in the shape Flipper's Logs plugin shows. */
export interface DeviceLogEntry {
  /** ISO 8601 time of the line, as the device stamped it. */
  date: string;
  type: DeviceLogLevel;
  message: string;
  pid: number;
  tid: number;
  tag: string;
  app?: string;
}

export type DeviceLogLevel = 'unknown' | 'verbose' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface DeviceSummary {
  /** The transport that reported it (`android`, `ios-simulator`, …). */
  transport: string;
  /** The id apps get as deviceId (adb serial, simulator UDID). */
  id: string;
  name: string;
  /** e.g. `device`, `offline`, `unauthorized` (adb) or `Booted`, `Shutdown` (simulators). */
  state: string;
  /** Transport-specific facts worth showing (model, API level, runtime, reverse ports, apps seen). */
  details: Record<string, string>;
  /** The OS as the SDKs name it in their query (`Android`, `iOS`, `MacOS`, `Linux`, `Windows`), for UIs. */
  os?: string;
  /** `physical` (a phone, this computer) or `emulator` (emulators, simulators), for UIs. */
  deviceType?: 'physical' | 'emulator';
  /** Whether `takeScreenshot` / `followLogs` work for this device now. */
  features?: { screenshot: boolean; logs: boolean };
}

/** The devices one transport reports, or why it could not (`sonarhost devices`, the API, `startHost`). */
export interface DeviceReport {
  transport: string;
  devices: DeviceSummary[];
  problem?: string;
}

/** Asks every transport that lists devices, in parallel; one that fails is a report with its problem, never a failure of all. */
export function reportDevices(transports: readonly DeviceTransport[]): Promise<DeviceReport[]> {
  return Promise.all(
    transports
      .filter((t) => t.listDevices !== undefined)
      .map(async (t) => {
        try {
          return { transport: t.id, devices: await t.listDevices!() };
        } catch (error) {
          return { transport: t.id, devices: [], problem: describeError(error) };
        }
      }),
  );
}
