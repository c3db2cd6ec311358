import { connect } from 'node:net';
import { inject, injectable } from 'inversify';
import { CertificateExchangeMedium, type ClientQuery } from '../../core/client-query.js';
import { type DeviceFile, type DeviceLogEntry, type DeviceSummary, type DeviceTarget, type DeviceTransport, type ExchangeRequest } from '../../core/device-transport.js';
import { type Disposable } from '../../core/disposable.js';
import { type HealthCheck } from '../../core/health-check.js';
import { HostConfig } from '../../core/host-config.js';
import { HostError, describeError } from '../../core/host-error.js';
import { Logger } from '../../core/logger.js';
import { type ParsedCsr, normalizeCsr } from '../../core/x509/csr.js';
import { AndroidDevices } from './android-devices.js';
import { followLogcat } from './logcat-follower.js';
import { type Runner, checkAppFolder, classifyOutput, isAppUid, nonce, parseProbe, problemMessage, probeCommand, writeFilesCommand } from './android-shell.js';

interface Match {
  serial: string;
  runner: Runner;
  /** The device's online session when the match was made: a match is good for that session only. */
  session: number;
}

type Probe = { serial: string; match: Runner } | { serial: string; problem: string };

/** Matches remembered at most (oldest dropped first): one per app folder and CSR. */
const MAX_MATCHES = 1024;

/**
 * Android apps (medium FS_ACCESS): the device is the one whose `<destination>app.csr` equals the CSR
 * (all online devices are checked in parallel, one shell call each), and the certificates are written
 * into the app's private folder in one more shell call, as the app itself: `run-as <app>`, or where
 * run-as is refused `su <app uid>` (never root). deviceId = the adb serial. A match is remembered for
 * as long as the device stays online (the tracker's session), so a repeated exchange with the same CSR
 * and the secure connection's device id cost no probe; going offline or away forgets it.
 */
@injectable()
export class AndroidDeviceTransport implements DeviceTransport {
  readonly id = 'android';
  private readonly log: Logger;
  private readonly matches = new Map<string, Match>();

  constructor(
    @inject(AndroidDevices) private readonly devices: AndroidDevices,
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('android');
  }

  serves(request: ExchangeRequest): boolean {
    return request.query.os === 'Android' && request.query.medium === CertificateExchangeMedium.FS_ACCESS;
  }

  async locate(request: ExchangeRequest): Promise<DeviceTarget> {
    checkAppFolder(request.csr.appId, request.destination);
    const match = this.remembered(request.csr, request.destination) ?? (await this.find(request.csr, request.destination));
    return { deviceId: match.serial, detail: match };
  }

  async deploy(request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void> {
    const match = target.detail as Match;
    const { appId } = request.csr;
    const key = cacheKey(appId, request.destination, request.csr.pem);
    let output: string;
    try {
      output = await this.devices.bridge().shell(match.serial, writeFilesCommand(match.runner, appId, request.destination, files));
    } catch (error) {
      this.matches.delete(key);
      throw error;
    }
    const problem = classifyOutput(output) ?? (output.trim() === '' ? undefined : 'other');
    if (problem) {
      this.matches.delete(key); // the next attempt looks again
      throw new HostError(problem === 'link' ? 'destination-refused' : 'device-unavailable', `Writing the certificates failed: ${problemMessage(problem, appId, match.serial, request.destination, output)}`);
    }
  }

  /** Upstream marks old Android SDKs in the app name (docs/protocol-rsocket.md, "Secure connection"). */
  secureAppName(query: ClientQuery): string | undefined {
    return query.os === 'Android' && query.sdkVersion < 3 ? `${query.app} (Outdated SDK)` : undefined;
  }

  async resolveSecureDeviceId(query: ClientQuery, csr: ParsedCsr, csrPath: string): Promise<string | undefined> {
    if (query.os !== 'Android') return undefined;
    const cached = this.remembered(csr, csrPath);
    if (cached) return cached.serial;
    try {
      checkAppFolder(csr.appId, csrPath);
      return (await this.find(csr, csrPath)).serial;
    } catch (error) {
      this.log.warn('could not tell which Android device a secure connection comes from; keeping the id the app sent', { app: query.app, deviceId: query.deviceId, error: describeError(error) });
      return undefined;
    }
  }

  async listDevices(): Promise<DeviceSummary[]> {
    return (await this.devices.snapshot()).map((d) => ({
      transport: this.id,
      id: d.serial,
      name: d.model ?? d.serial,
      state: d.state,
      os: 'Android',
      deviceType: d.emulator ? 'emulator' : 'physical',
      features: { screenshot: d.online, logs: d.online },
      details: {
        ...(d.model ? { model: d.model } : {}),
        ...(d.apiLevel ? { apiLevel: d.apiLevel } : {}),
        reverse: d.reversed.length ? d.reversed.map((p) => `tcp:${p}`).join(', ') : (d.reverseProblem ?? 'not set up (sonarhost sets it up while it runs)'),
      },
    }));
  }

  /** `screencap -p` on the device (see AdbBridge.screenshot): a PNG, at most 32 MiB, within 15 s. */
  async takeScreenshot(deviceId: string, signal?: AbortSignal): Promise<Buffer> {
    return this.devices.bridge().screenshot(deviceId, signal ? { signal } : {});
  }

  /** `logcat -v threadtime` on the device, parsed line by line (see logcat-follower.ts). Disposing closes the adb stream, which ends logcat there. */
  followLogs(deviceId: string, onEntry: (entry: DeviceLogEntry) => void, onEnd?: (error?: Error) => void): Disposable {
    return followLogcat(() => this.devices.bridge(), deviceId, onEntry, onEnd, this.log);
  }

  async check(): Promise<HealthCheck[]> {
    let bridge;
    try {
      bridge = await this.devices.connect();
    } catch (error) {
      return [{ name: 'adb', status: 'warn', detail: describeError(error), fix: 'needed only for Android apps' }];
    }
    const checks: HealthCheck[] = [{ name: 'adb', status: 'ok', detail: bridge.adbPath }];
    const { host, port } = bridge.address;
    checks.push(
      (await reachable(host, port))
        ? { name: 'adb server', status: 'ok', detail: `listening on ${host}:${port}` }
        : { name: 'adb server', status: 'warn', detail: `not running on ${host}:${port}`, fix: 'sonarhost starts it when it starts (or run `adb start-server`)' },
    );
    return checks;
  }

  private async find(csr: ParsedCsr, destination: string): Promise<Match> {
    // Ask adb now rather than trusting the tracker: adb 29 does not always push a change to "unauthorized".
    const all = (await this.devices.bridge().listDevices()).map((d) => ({ serial: d.id, state: d.type }));
    if (all.length === 0) throw new HostError('device-not-found', 'No Android devices are connected (`adb devices` lists none). Connect a device or start an emulator.');
    const online = all.filter((d) => d.state === 'device' || d.state === 'emulator');
    const probes: Probe[] = await Promise.all(online.map((d) => this.probe(d.serial, csr, destination)));
    const matches = probes.filter((p): p is { serial: string; match: Runner } => 'match' in p);
    if (matches.length > 1) this.log.warn('several devices hold this app.csr; using the first', { app: csr.appId, devices: matches.map((m) => m.serial) });
    if (matches[0]) {
      const session = this.devices.get(matches[0].serial)?.session ?? -1;
      const match: Match = { serial: matches[0].serial, runner: matches[0].match, session };
      if (session >= 0) this.remember(cacheKey(csr.appId, destination, csr.pem), match);
      return match;
    }
    const checked = [
      ...probes.map((p) => `${p.serial}: ${'problem' in p ? p.problem : 'matched'}`),
      ...all.filter((d) => !online.includes(d)).map((d) => `${d.serial}: ${d.state === 'unauthorized' ? 'unauthorized (accept the USB debugging prompt on the device)' : d.state}`),
    ];
    throw new HostError('device-not-found', `No Android device holds an app.csr of ${csr.appId} in ${destination} equal to the CSR it sent. Checked: ${checked.join('; ')}.`);
  }

  /** A match made in the device's current online session, if any. */
  private remembered(csr: ParsedCsr, destination: string): Match | undefined {
    const key = cacheKey(csr.appId, destination, csr.pem);
    const match = this.matches.get(key);
    if (!match) return undefined;
    const device = this.devices.get(match.serial);
    if (device && device.session === match.session && device.online) return match;
    this.matches.delete(key);
    return undefined;
  }

  private remember(key: string, match: Match): void {
    this.matches.delete(key);
    this.matches.set(key, match);
    if (this.matches.size > MAX_MATCHES) this.matches.delete(this.matches.keys().next().value!);
  }

  /**
   * Reads `app.csr` on one device in one shell call: run-as, and su only where run-as is refused
   * (see `probeCommand`). Run-as's reason is the one reported when both fail: it is the actionable one.
   */
  private async probe(serial: string, csr: ParsedCsr, destination: string): Promise<Probe> {
    const marker = `sonarhost-probe-${nonce()}`;
    let output: string;
    try {
      // Room for the largest CSR accepted, with CRLF line ends, and the shell's messages; more is refused, not read.
      const maxBytes = 2 * this.config.limits.maxCsrBytes + 4096;
      output = await this.devices.bridge().shell(serial, probeCommand(csr.appId, destination, marker), { maxBytes });
    } catch (error) {
      return { serial, problem: describeError(error) };
    }
    const { runAs, su } = parseProbe(output, marker);
    if (normalizeCsr(runAs) === csr.pem) return { serial, match: { kind: 'run-as' } };
    const runAsProblem = classifyOutput(runAs);
    const runAsMessage = runAsProblem ? problemMessage(runAsProblem, csr.appId, serial, destination, runAs) : 'its app.csr differs from the CSR that was sent';
    if (!su) return { serial, problem: runAsMessage };
    if (su.uid !== undefined && normalizeCsr(su.rest) === csr.pem) {
      if (isAppUid(su.uid)) return { serial, match: { kind: 'su', uid: su.uid } };
      return { serial, problem: `the private folder of ${csr.appId} on ${serial} belongs to uid ${su.uid}, which is not an app uid; sonarhost writes only as the app itself` };
    }
    const suProblem = classifyOutput(su.rest);
    // A refusal that su saw (a link) is worth more than run-as's "not debuggable".
    if (suProblem === 'link') return { serial, problem: problemMessage(suProblem, csr.appId, serial, destination, su.rest) };
    return { serial, problem: runAsMessage };
  }
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function cacheKey(appId: string, destination: string, csrPem: string): string {
  return `${appId}\n${destination}\n${csrPem}`;
}
