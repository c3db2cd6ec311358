import { realpathSync, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { inject, injectable } from 'inversify';
import { replaceFileSync } from '../../core/atomic-file.js';
import { type DeviceFile, type DeviceSummary, type DeviceTarget, type DeviceTransport, type ExchangeRequest } from '../../core/device-transport.js';
import { type HealthCheck } from '../../core/health-check.js';
import { HostConfig } from '../../core/host-config.js';
import { HostError, describeError } from '../../core/host-error.js';
import { Logger } from '../../core/logger.js';
import { readRegularFileSync } from '../../core/regular-file.js';
import { normalizeCsr } from '../../core/x509/csr.js';
import { readContainerBundleId } from './container-metadata.js';
import { CoreSimulatorDevices, type Simulator } from './core-simulator-devices.js';
import { CONTAINER_METADATA, IOS_SIMULATOR_ID, containerPlaceOf, isInside } from './simulator-paths.js';
import { deviceTypeLabel, runtimeLabel } from './simulator-labels.js';

/** What `locate` proved, for `deploy`. */
export interface SimulatorTarget {
  udid: string;
  /** The destination with `..` and links resolved: the only folder written. */
  folder: string;
}

const SONAR_FOLDER = 'Library/Application Support/sonar/';

/**
 * iOS apps in a simulator on this Mac: their certificate folder lies in the app's data container inside
 * CoreSimulator's devices folder, so the files are written directly. Upstream wrote wherever the path
 * pointed; here a folder is written only when, with `..` and links resolved, it lies inside an app data
 * container of a simulator, that container belongs to the bundle id in the CSR's CN, and it holds an
 * `app.csr` equal to the CSR. Every check reads the disk for each request. deviceId = the simulator's UDID.
 */
@injectable()
export class IosSimulatorDeviceTransport implements DeviceTransport {
  readonly id = IOS_SIMULATOR_ID;
  private readonly log: Logger;
  /** Bundle ids that completed an exchange through this transport while the host runs, per UDID. */
  private readonly exchanged = new Map<string, Set<string>>();

  constructor(
    @inject(CoreSimulatorDevices) private readonly devices: CoreSimulatorDevices,
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child(IOS_SIMULATOR_ID);
  }

  /** os iOS and a destination under the configured devices root: a pure string check, no disk access. */
  serves(request: ExchangeRequest): boolean {
    const { query, destination } = request;
    return query.os === 'iOS' && isAbsolute(destination) && isInside(this.devices.root(), normalize(destination));
  }

  async locate(request: ExchangeRequest): Promise<DeviceTarget> {
    const { destination, csr } = request;
    const root = this.devices.root();
    const layout = `${root}/<UDID>/data/Containers/Data/Application/<APP-UUID>/`;
    if (!isAbsolute(destination)) {
      throw refused(`The destination ${JSON.stringify(destination)} is not an absolute path; a simulator app sends its folder in its data container (${layout}${SONAR_FOLDER}).`);
    }

    let realRoot: string;
    try {
      // Synchronous, as are the reads and writes below: see readRegularFileSync and replaceFileSync.
      realRoot = realpathSync.native(root);
    } catch (error) {
      throw new HostError(
        'device-unavailable',
        `The CoreSimulator devices folder ${root} cannot be read (${describeError(error)}). Create a simulator with Xcode, or set pluginOptions["${IOS_SIMULATOR_ID}"].devicesRoot in the host config to where your simulators live.`,
      );
    }

    let folder: string;
    try {
      folder = realpathSync.native(destination);
      if (!statSync(folder).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw refused(`The destination ${destination} is not an existing folder on this Mac (${describeError(error)}). The app must create it and write app.csr there before asking.`);
    }

    const place = containerPlaceOf(realRoot, folder);
    if (!place) {
      throw refused(
        `The destination ${destination} resolves to ${folder}, which is not inside an app's data container (${layout}). ` +
          'sonarhost writes certificates only into the container of the app that asked; a path that leaves it through ".." or a symbolic link is refused.',
      );
    }

    const simulator = await this.devices.find(place.udid);
    if (!simulator) {
      throw refused(`The destination ${destination} is not in a simulator: ${join(realRoot, place.udid)} has no readable device.plist. Run the app in a simulator created by Xcode.`);
    }

    let owner: string;
    try {
      owner = await readContainerBundleId(place.container);
    } catch (error) {
      throw refused(`The app container ${place.container} has no readable ${CONTAINER_METADATA} (${describeError(error)}), so sonarhost cannot tell which app owns it. Reinstall the app in the simulator.`);
    }
    if (owner !== csr.appId) {
      throw refused(
        `The destination ${destination} lies in the data container of ${owner}, but the CSR names ${csr.appId} (its CN). ` +
          `sonarhost writes certificates only into the container of the app the CSR was made for. ${await this.containerHint(simulator, csr.appId)}`,
      );
    }

    let onDisk: string;
    try {
      // A CSR sent with CRLF line ends is at most twice the size limit the exchange already enforced.
      onDisk = readRegularFileSync(join(folder, 'app.csr'), 2 * this.config.limits.maxCsrBytes).toString('utf8');
    } catch (error) {
      throw refused(`The destination ${destination} holds no readable app.csr (${describeError(error)}). The app must write its CSR there as app.csr before asking: it proves the folder is the app's own.`);
    }
    if (normalizeCsr(onDisk) !== csr.pem) {
      throw refused(`The app.csr in ${destination} differs from the CSR that was sent. sonarhost writes certificates only into the folder of the app that asked; the app must send the CSR it wrote there.`);
    }

    const target: SimulatorTarget = { udid: simulator.udid, folder };
    return { deviceId: simulator.udid, detail: target };
  }

  async deploy(request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void> {
    const { udid, folder } = target.detail as SimulatorTarget;
    // Signing happens between locate and deploy: if a folder on the way became a link meanwhile, stop.
    let now: string | undefined;
    try {
      now = realpathSync.native(folder);
    } catch {
      now = undefined;
    }
    if (now !== folder) {
      throw refused(`The folder ${folder} changed while its certificates were being made${now ? ` (it now resolves to ${now})` : ''}; nothing was written. Let the app retry.`);
    }
    for (const file of files) {
      // A link planted at the file name is removed, never followed. No fsync: a certificate
      // lost or truncated by a power cut is missing or fails TLS, and the SDKs redo the exchange for both.
      replaceFileSync(join(folder, file.name), file.contents, 0o644);
    }
    const apps = this.exchanged.get(udid) ?? new Set<string>();
    apps.add(request.csr.appId);
    this.exchanged.set(udid, apps);
    this.log.debug('certificates written into the simulator app container', { app: request.query.app, appId: request.csr.appId, deviceId: udid, folder });
  }

  async check(): Promise<HealthCheck[]> {
    const root = this.devices.root();
    try {
      await realpath(root);
    } catch {
      return [{ name: 'iOS simulators', status: 'warn', detail: `no CoreSimulator folder at ${root}`, fix: `needed only for iOS simulator apps: install Xcode and create a simulator, or set pluginOptions["${IOS_SIMULATOR_ID}"].devicesRoot` }];
    }
    const simulators = await this.devices.list();
    const booted = simulators.filter((s) => s.state === 'Booted').length;
    return [{ name: 'iOS simulators', status: 'ok', detail: `${simulators.length} in ${root} (${booted} booted)` }];
  }

  async listDevices(): Promise<DeviceSummary[]> {
    return (await this.devices.list()).map((simulator) => {
      const apps = [...(this.exchanged.get(simulator.udid) ?? [])].sort();
      return {
        transport: this.id,
        id: simulator.udid,
        name: simulator.name,
        state: simulator.state,
        os: 'iOS',
        deviceType: 'emulator',
        features: { screenshot: false, logs: false },
        details: {
          runtime: runtimeLabel(simulator.runtime),
          ...(simulator.deviceType ? { deviceType: deviceTypeLabel(simulator.deviceType) } : {}),
          ...(apps.length ? { apps: apps.join(', ') } : {}),
        },
      };
    });
  }

  /** Where the app's own container is on this simulator, to make a refusal actionable. */
  private async containerHint(simulator: Simulator, appId: string): Promise<string> {
    const own = (await this.devices.containers(simulator)).find((c) => c.bundleId === appId);
    return own
      ? `The container of ${appId} on ${simulator.name} is ${own.path}/: the app should send ${join(own.path, SONAR_FOLDER)}.`
      : `${appId} has no data container on ${simulator.name} (${simulator.udid}): is it installed there, and is the CSR's CN its bundle id?`;
  }
}

function refused(message: string): HostError {
  return new HostError('destination-refused', message);
}
