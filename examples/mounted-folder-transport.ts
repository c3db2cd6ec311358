/**
 * Example device transport, loaded by path from a config file: apps in VMs or containers whose
 * filesystem is mounted on this machine. `pluginOptions["mounted-folders"].devices` maps a device name
 * (the SETUP's `device`) to the folder where that device's filesystem is mounted here; a destination
 * inside the device is written at the same path below that folder, and nowhere else.
 *
 * Outside this repository, import from 'sonarhost/plugin-api' instead of '../src/core/plugin-api.js'.
 */
import { readFile, realpath } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import { ContainerModule, inject, injectable } from 'inversify';
import {
  type DeviceFile,
  type DeviceTarget,
  DeviceTransport,
  type ExchangeRequest,
  HostConfig,
  HostError,
  type PluginDescriptor,
  normalizeCsr,
  writeFileAtomic,
} from '../src/core/plugin-api.js';

const ID = 'mounted-folders';

@injectable()
class MountedFolderTransport implements DeviceTransport {
  readonly id = ID;

  constructor(@inject(HostConfig) private readonly config: HostConfig) {}

  serves(request: ExchangeRequest): boolean {
    return this.mountOf(request.query.device) !== undefined;
  }

  async locate(request: ExchangeRequest): Promise<DeviceTarget> {
    const mount = await realpath(this.mountOf(request.query.device)!);
    if (!isAbsolute(request.destination)) throw new HostError('destination-refused', 'The destination must be an absolute path inside the device.');
    let folder: string;
    try {
      folder = await realpath(join(mount, request.destination));
    } catch {
      throw new HostError('destination-refused', `${request.destination} does not exist on ${request.query.device}.`);
    }
    const inside = relative(mount, folder);
    if (inside.startsWith('..') || isAbsolute(inside)) throw new HostError('destination-refused', `${request.destination} leaves the mounted filesystem of ${request.query.device}.`);
    const onDisk = await readFile(join(folder, 'app.csr'), 'utf8').catch(() => '');
    if (normalizeCsr(onDisk) !== request.csr.pem) throw new HostError('destination-refused', `${request.destination} on ${request.query.device} holds no matching app.csr.`);
    return { deviceId: `mounted:${request.query.device}`, detail: folder };
  }

  async deploy(_request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void> {
    for (const file of files) await writeFileAtomic(join(target.detail as string, file.name), file.contents, 0o644);
  }

  private mountOf(device: string): string | undefined {
    const devices = (this.config.pluginOptions[ID]?.devices ?? {}) as Record<string, unknown>;
    const mount = devices[device];
    return typeof mount === 'string' ? mount : undefined;
  }
}

const plugin: PluginDescriptor = {
  id: ID,
  kind: 'device-transport',
  description: 'apps in VMs or containers whose filesystem is mounted on this machine',
  module: new ContainerModule(({ bind }) => {
    bind(MountedFolderTransport).toSelf().inSingletonScope();
    bind(DeviceTransport).toService(MountedFolderTransport);
  }),
  requires: [HostConfig],
};

export default plugin;
