import { connect } from 'node:net';
import { inject, injectable } from 'inversify';
import { CertificateExchangeMedium, type ClientQuery } from '../../core/client-query.js';
import { type DeviceFile, type DeviceSummary, type DeviceTarget, type DeviceTransport, type ExchangeRequest } from '../../core/device-transport.js';
import { type HealthCheck } from '../../core/health-check.js';
import { HostError, describeError } from '../../core/host-error.js';
import { Logger } from '../../core/logger.js';
import { type ParsedCsr, normalizeCsr } from '../../core/x509/csr.js';
import { AndroidDevices } from './android-devices.js';
import { type Runner, checkAppFolder, classifyOutput, problemMessage, readCsrCommand, writeFilesCommand } from './android-shell.js';

interface Match {
  serial: string;
  runner: Runner;
}

type Probe = { serial: string; match: Runner } | { serial: string; problem: string };

/**
 * Android apps (medium FS_ACCESS): the device is the one whose `<destination>app.csr` equals the CSR
 * (all online devices are checked in parallel), and the certificates are written into the app's
 * private folder with `run-as <app>`, falling back to `su` where run-as is refused. deviceId = the adb
 * serial. On the secure connection the device id is re-derived from the same match (as upstream),
 * cached so a reconnect costs no adb round trip while the device stays online.
 */
@injectable()
export class AndroidDeviceTransport implements DeviceTransport {
  readonly id = 'android';
  private readonly log: Logger;
  private readonly matches = new Map<string, Match>();

  constructor(
    @inject(AndroidDevices) private readonly devices: AndroidDevices,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('android');
  }

  serves(request: ExchangeRequest): boolean {
    return request.query.os === 'Android' && request.query.medium === CertificateExchangeMedium.FS_ACCESS;
  }

  async locate(request: ExchangeRequest): Promise<DeviceTarget> {
    checkAppFolder(request.csr.appId, request.destination);
    const match = await this.find(request.csr, request.destination);
    return { deviceId: match.serial, detail: match };
  }

  async deploy(request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void> {
    const match = target.detail as Match;
    const { appId } = request.csr;
    const output = await this.devices.bridge().shell(match.serial, writeFilesCommand(match.runner, appId, request.destination, files));
    const problem = classifyOutput(output) ?? (output.trim() === '' ? undefined : 'other');
    if (problem) throw new HostError('device-unavailable', `Writing the certificates failed: ${problemMessage(problem, appId, match.serial, request.destination, output)}`);
    this.matches.set(cacheKey(appId, request.destination, request.csr.pem), match);
  }

  async resolveSecureDeviceId(query: ClientQuery, csr: ParsedCsr, csrPath: string): Promise<string | undefined> {
    if (query.os !== 'Android') return undefined;
    const key = cacheKey(csr.appId, csrPath, csr.pem);
    const cached = this.matches.get(key);
    if (cached && this.devices.online().some((d) => d.serial === cached.serial)) return cached.serial;
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
      details: {
        ...(d.model ? { model: d.model } : {}),
        ...(d.apiLevel ? { apiLevel: d.apiLevel } : {}),
        reverse: d.reversed.length ? d.reversed.map((p) => `tcp:${p}`).join(', ') : (d.reverseProblem ?? 'not set up (sonarhost sets it up while it runs)'),
      },
    }));
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
      const match = { serial: matches[0].serial, runner: matches[0].match };
      this.matches.set(cacheKey(csr.appId, destination, csr.pem), match);
      return match;
    }
    const checked = [
      ...probes.map((p) => `${p.serial}: ${'problem' in p ? p.problem : 'matched'}`),
      ...all.filter((d) => !online.includes(d)).map((d) => `${d.serial}: ${d.state === 'unauthorized' ? 'unauthorized (accept the USB debugging prompt on the device)' : d.state}`),
    ];
    throw new HostError('device-not-found', `No Android device holds an app.csr of ${csr.appId} in ${destination} equal to the CSR it sent. Checked: ${checked.join('; ')}.`);
  }

  /** Reads `app.csr` on one device with run-as, then su when run-as is refused. */
  private async probe(serial: string, csr: ParsedCsr, destination: string): Promise<Probe> {
    let first: string | undefined;
    for (const runner of ['run-as', 'su'] as const) {
      let output: string;
      try {
        output = await this.devices.bridge().shell(serial, readCsrCommand(runner, csr.appId, destination));
      } catch (error) {
        return { serial, problem: describeError(error) };
      }
      if (normalizeCsr(output) === csr.pem) return { serial, match: runner };
      const problem = classifyOutput(output);
      const message = problem ? problemMessage(problem, csr.appId, serial, destination, output) : 'its app.csr differs from the CSR that was sent';
      // Only a refused run-as is worth the su attempt; report run-as's reason, which is the actionable one.
      if (runner === 'run-as' && (problem === 'not-debuggable' || problem === 'not-application' || problem === 'not-permitted' || problem === 'denied')) {
        first = message;
        continue;
      }
      return { serial, problem: first ?? message };
    }
    return { serial, problem: first ?? 'unreachable' };
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
