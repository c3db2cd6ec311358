/**
 * A device transport for apps in VMs or containers whose filesystem is mounted on this machine.
 * `pluginOptions["mounted-folders"].devices` maps a device name (the SETUP's `device`) to the folder
 * where that device's filesystem is mounted here; a destination inside the device is written at the
 * same path below that folder, and nowhere else.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import {
  ContainerModule,
  type DeviceFile,
  type DeviceTarget,
  DeviceTransport,
  type ExchangeRequest,
  type HealthCheck,
  HostConfig,
  HostError,
  definePlugin,
  inject,
  injectable,
  normalizeCsr,
  writeFileAtomic,
} from 'sonarhost/plugin-api';

const ID = 'mounted-folders';
const OPTION = `pluginOptions["${ID}"].devices`;

@injectable()
export class MountedFolderTransport implements DeviceTransport {
  readonly id = ID;

  constructor(@inject(HostConfig) private readonly config: HostConfig) {}

  serves(request: ExchangeRequest): boolean {
    return this.mountOf(request.query.device) !== undefined;
  }

  async locate(request: ExchangeRequest): Promise<DeviceTarget> {
    const device = request.query.device;
    const mount = await this.existingMount(device, this.mountOf(device)!);
    if (!isAbsolute(request.destination)) throw new HostError('destination-refused', 'The destination must be an absolute path inside the device.');
    let folder: string;
    try {
      folder = await realpath(join(mount, request.destination));
    } catch {
      throw new HostError('destination-refused', `${request.destination} does not exist on ${device} (looked in ${join(mount, request.destination)}).`);
    }
    const inside = relative(mount, folder);
    if (inside.startsWith('..') || isAbsolute(inside)) throw new HostError('destination-refused', `${request.destination} leaves the mounted filesystem of ${device}.`);
    const onDisk = await readFile(join(folder, 'app.csr'), 'utf8').catch(() => undefined);
    if (onDisk === undefined) throw new HostError('destination-refused', `${request.destination} on ${device} holds no app.csr: the app writes it there before the exchange.`);
    if (normalizeCsr(onDisk) !== request.csr.pem) throw new HostError('destination-refused', `${request.destination} on ${device} holds another app.csr than the one sent: the folder belongs to another app or an older key.`);
    return { deviceId: `mounted:${device}`, detail: folder };
  }

  async deploy(_request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void> {
    for (const file of files) await writeFileAtomic(join(target.detail as string, file.name), file.contents, 0o644);
  }

  /** For `sonarhost doctor`: every configured mount must exist. */
  async check(): Promise<HealthCheck[]> {
    const devices = Object.entries(this.devices());
    return Promise.all(
      devices.map(async ([device, mount]): Promise<HealthCheck> => {
        try {
          await this.existingMount(device, mount);
          return { name: `mount of ${device}`, status: 'ok', detail: mount };
        } catch (error) {
          return { name: `mount of ${device}`, status: 'fail', detail: (error as Error).message, fix: `mount the filesystem of ${device} at ${mount}, or correct ${OPTION}` };
        }
      }),
    );
  }

  /** A configured mount that is missing is a configuration problem, not an internal error: say which key to fix. */
  private async existingMount(device: string, mount: string): Promise<string> {
    const found = await stat(mount).catch(() => undefined);
    if (!found?.isDirectory()) {
      throw new HostError('device-unavailable', `The filesystem of ${device} is expected at ${mount} (${OPTION}["${device}"]), which is not a folder: mount the device there or fix the path in the config.`);
    }
    return realpath(mount);
  }

  private devices(): Record<string, string> {
    const devices = this.config.pluginOptions[ID]?.devices;
    if (typeof devices !== 'object' || devices === null) return {};
    // Relative mounts are meant from the config file's folder, like every path in the config.
    const base = this.config.configDir ?? process.cwd();
    return Object.fromEntries(Object.entries(devices).flatMap(([device, mount]) => (typeof mount === 'string' ? [[device, resolve(base, mount)]] : [])));
  }

  private mountOf(device: string): string | undefined {
    return this.devices()[device];
  }
}

export default definePlugin({
  id: ID,
  kind: 'device-transport',
  description: 'apps in VMs or containers whose filesystem is mounted on this machine',
  module: new ContainerModule(({ bind }) => {
    bind(MountedFolderTransport).toSelf().inSingletonScope();
    bind(DeviceTransport).toService(MountedFolderTransport);
  }),
  requires: [HostConfig],
});
