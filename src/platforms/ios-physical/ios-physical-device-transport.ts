import { randomBytes } from 'node:crypto';
import { inject, injectable, optional } from 'inversify';
import { type DeviceFile, type DeviceSummary, type DeviceTarget, type DeviceTransport, type ExchangeRequest } from '../../core/device-transport.js';
import { type HealthCheck } from '../../core/health-check.js';
import { HostConfig } from '../../core/host-config.js';
import { HostError, describeError } from '../../core/host-error.js';
import { Logger } from '../../core/logger.js';
import { normalizeCsr } from '../../core/x509/csr.js';
import { AFC_ERROR, AfcError, type AfcClient } from './afc-client.js';
import { openAppContainer, probeDevice } from './app-container.js';
import { isDeviceContainerPath, sonarFolderOf } from './device-paths.js';
import { IosDeviceError } from './ios-device-error.js';
import { IosPhysicalDevices } from './ios-physical-devices.js';
import { type UsbmuxDevice, UsbmuxdUnreachable, listUsbDevices } from './usbmux-client.js';
import { IOS_PHYSICAL_ID, type UsbmuxAddress, describeUsbmuxAddress, requestTimeoutMs, usbmuxAddress } from './usbmux-address.js';

export { IOS_PHYSICAL_ID, isDeviceContainerPath };

/** What `locate` proved, for `deploy`. */
interface PhoneTarget {
  udid: string;
  folder: string;
}

/** A device that could not be checked, or did not hold the CSR, with why. */
interface Miss {
  udid: string;
  error: HostError;
}

/**
 * Apps on physical iPhones and iPads attached over USB, through usbmuxd with no Xcode or idb: a lockdown
 * session with the pair record usbmuxd holds, house_arrest to vend the container of the CSR's bundle id
 * (development-signed apps only), AFC inside it. The device is the one whose
 * `Library/Application Support/sonar/app.csr` equals the CSR; the certificates are written into that
 * folder only, each under a temporary name and then renamed. deviceId = the device's UDID.
 */
@injectable()
export class IosPhysicalDeviceTransport implements DeviceTransport {
  readonly id = IOS_PHYSICAL_ID;
  private readonly log: Logger;
  /** Bundle ids that completed an exchange through this transport while the host runs, per UDID. */
  private readonly exchanged = new Map<string, Set<string>>();

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(Logger) logger: Logger,
    @inject(IosPhysicalDevices) @optional() private readonly devices: IosPhysicalDevices | undefined,
  ) {
    this.log = logger.child(IOS_PHYSICAL_ID);
  }

  serves(request: ExchangeRequest): boolean {
    return request.query.os === 'iOS' && isDeviceContainerPath(request.destination);
  }

  async locate(request: ExchangeRequest): Promise<DeviceTarget> {
    const folder = sonarFolderOf(request.destination);
    const address = usbmuxAddress(this.config);
    const devices = await listUsbDevices(address, requestTimeoutMs(this.config));
    if (devices.length === 0) {
      throw new HostError(
        'device-not-found',
        `No iPhone or iPad is attached over USB (usbmuxd at ${describeUsbmuxAddress(address)} lists none), so "${request.query.device}" cannot be reached. ` +
          'Connect the device with a cable (Wi-Fi sync is not used), unlock it, and let the app retry.',
      );
    }
    const misses: Miss[] = [];
    for (const device of devices) {
      try {
        await this.withContainer(address, device, request.csr.appId, (afc) => this.checkCsr(afc, device, request, folder));
        const target: PhoneTarget = { udid: device.udid, folder };
        return { deviceId: device.udid, detail: target };
      } catch (error) {
        misses.push({ udid: device.udid, error: HostError.is(error) ? error : new HostError('device-unavailable', describeError(error), { cause: error }) });
      }
    }
    throw noMatch(request, misses);
  }

  async deploy(request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void> {
    const { udid, folder } = target.detail as PhoneTarget;
    const address = usbmuxAddress(this.config);
    const device = (await listUsbDevices(address, requestTimeoutMs(this.config))).find((d) => d.udid === udid);
    if (!device) throw new HostError('device-unavailable', `The iPhone or iPad ${udid} was unplugged while its certificates were being made; nothing was written. Plug it in again and let the app retry.`);
    await this.withContainer(address, device, request.csr.appId, async (afc) => {
      // The app may have been reinstalled (and its folder emptied) since locate: prove it again.
      await this.checkCsr(afc, device, request, folder);
      for (const file of files) {
        // Written under a name of our own, then renamed: the app never reads half a certificate.
        const temporary = `${folder}.${file.name}.${randomBytes(6).toString('hex')}.tmp`;
        try {
          await afc.writeFile(temporary, Buffer.from(file.contents, 'utf8'));
          await afc.rename(temporary, folder + file.name);
        } catch (error) {
          await afc.remove(temporary).catch(() => undefined);
          throw new HostError('device-unavailable', `Writing ${file.name} into ${request.destination} on ${udid} failed (${describeError(error)}). Keep the device unlocked and plugged in, and let the app retry.`, { cause: error });
        }
      }
    });
    const apps = this.exchanged.get(udid) ?? new Set<string>();
    apps.add(request.csr.appId);
    this.exchanged.set(udid, apps);
    this.log.debug('certificates written into the app container on the device', { app: request.query.app, appId: request.csr.appId, deviceId: udid });
  }

  async listDevices(): Promise<DeviceSummary[]> {
    const address = usbmuxAddress(this.config);
    let devices: UsbmuxDevice[];
    try {
      devices = await listUsbDevices(address, requestTimeoutMs(this.config));
    } catch (error) {
      // A list shows the one-line state; the advice is for `doctor` (check below) and a failed exchange.
      if (error instanceof UsbmuxdUnreachable) throw new HostError('device-unavailable', error.brief);
      throw error;
    }
    return Promise.all(
      devices.map(async (device): Promise<DeviceSummary> => {
        const probe = await probeDevice(address, device, requestTimeoutMs(this.config));
        const apps = [...(this.exchanged.get(device.udid) ?? [])].sort();
        const forwarding = this.devices?.forwardingOf(device.udid);
        return {
          transport: this.id,
          id: device.udid,
          name: probe.name ?? 'iPhone or iPad',
          state: probe.state,
          os: 'iOS',
          deviceType: 'physical',
          features: { screenshot: false, logs: false },
          details: {
            ...probe.details,
            ...(forwarding ? { forwarding } : {}),
            ...(apps.length ? { apps: apps.join(', ') } : {}),
            ...(probe.problem ? { problem: probe.problem } : {}),
          },
        };
      }),
    );
  }

  async check(): Promise<HealthCheck[]> {
    let address: UsbmuxAddress;
    let devices: UsbmuxDevice[];
    try {
      address = usbmuxAddress(this.config);
      devices = await listUsbDevices(address, requestTimeoutMs(this.config));
    } catch (error) {
      return [{ name: 'iOS devices (usbmuxd)', status: 'warn', detail: describeError(error), fix: 'needed only for apps on physical iPhones and iPads: start usbmuxd (see the message), or ignore this line' }];
    }
    const checks: HealthCheck[] = [{ name: 'iOS devices (usbmuxd)', status: 'ok', detail: `usbmuxd at ${describeUsbmuxAddress(address)}: ${devices.length} attached over USB` }];
    for (const device of devices) {
      const probe = await probeDevice(address, device, requestTimeoutMs(this.config));
      checks.push(
        probe.state === 'ready'
          ? { name: `iOS device ${device.udid}`, status: 'ok', detail: `${probe.name ?? 'paired'}${probe.details.iOS ? `, iOS ${probe.details.iOS}` : ''}: paired and unlocked` }
          : { name: `iOS device ${device.udid}`, status: 'warn', detail: probe.state, fix: probe.problem },
      );
    }
    return checks;
  }

  /** Opens the app's container on a device, runs `work`, and always closes the AFC connection. */
  private async withContainer<T>(address: UsbmuxAddress, device: UsbmuxDevice, bundleId: string, work: (afc: AfcClient) => Promise<T>): Promise<T> {
    const afc = await openAppContainer(address, device, bundleId, requestTimeoutMs(this.config));
    try {
      return await work(afc);
    } finally {
      afc.end();
    }
  }

  private async checkCsr(afc: AfcClient, device: UsbmuxDevice, request: ExchangeRequest, folder: string): Promise<void> {
    let onDevice: string;
    try {
      // A CSR sent with CRLF line ends is at most twice the size limit the exchange already enforced.
      onDevice = (await afc.readFile(folder + 'app.csr', 2 * this.config.limits.maxCsrBytes)).toString('utf8');
    } catch (error) {
      const missing = error instanceof AfcError && error.code === AFC_ERROR.objectNotFound;
      throw new HostError(
        'device-not-found',
        `${device.udid}: the container of ${request.csr.appId} holds ${missing ? 'no' : 'no readable'} ${folder}app.csr${missing ? '' : ` (${describeError(error)})`}; the app must write its CSR there before asking.`,
        { cause: error },
      );
    }
    if (normalizeCsr(onDevice) !== request.csr.pem) {
      throw new HostError('device-not-found', `${device.udid}: the app.csr in the container of ${request.csr.appId} differs from the CSR that was sent (another run of the app, or another copy of it).`);
    }
  }
}

/** One device with a clear state speaks for itself; otherwise list what each device said. */
function noMatch(request: ExchangeRequest, misses: Miss[]): HostError {
  const states = new Set(misses.map((m) => (m.error instanceof IosDeviceError ? m.error.state : undefined)));
  if (misses.length === 1 || (states.size === 1 && !states.has(undefined))) return misses[0]!.error;
  return new HostError(
    'device-not-found',
    `No attached iPhone or iPad holds this app's CSR for ${request.csr.appId}: ${misses.map((m) => m.error.message).join(' | ')}`,
  );
}
