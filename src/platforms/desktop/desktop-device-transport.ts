import { readFile, realpath, stat } from 'node:fs/promises';
import * as os from 'node:os';
import { isAbsolute, join } from 'node:path';
import { inject, injectable, optional } from 'inversify';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { ClientRegistry } from '../../core/client-registry.js';
import { type DeviceFile, type DeviceSummary, type DeviceTarget, type DeviceTransport, type ExchangeRequest } from '../../core/device-transport.js';
import { HostError, describeError } from '../../core/host-error.js';
import { normalizeCsr } from '../../core/x509/csr.js';

export const DESKTOP_OSES = ['MacOS', 'Windows', 'Linux'];

/**
 * Desktop apps (the C++/macOS SDKs, and Node apps using our client SDK) run on this machine: their
 * certificate folder is a local path. It is written only when it is an existing directory holding an
 * `app.csr` equal to the received CSR, which proves the requester owns that folder; the files go
 * into the resolved folder and nowhere else. deviceId is "" ("this computer"), as upstream.
 */
@injectable()
export class DesktopDeviceTransport implements DeviceTransport {
  readonly id = 'desktop';

  constructor(@inject(ClientRegistry) @optional() private readonly registry?: ClientRegistry) {}

  /** This computer, while desktop apps are connected to the running host (it has no other devices). */
  async listDevices(): Promise<DeviceSummary[]> {
    const apps = (this.registry?.list() ?? []).filter((s) => DESKTOP_OSES.includes(s.query.os)).map((s) => s.query.app);
    if (apps.length === 0) return [];
    return [{ transport: this.id, id: os.hostname(), name: 'this computer', state: 'connected', details: { os: `${os.type()} ${os.release()}`, apps: [...new Set(apps)].join(', ') } }];
  }

  serves(request: ExchangeRequest): boolean {
    return DESKTOP_OSES.includes(request.query.os);
  }

  async locate(request: ExchangeRequest): Promise<DeviceTarget> {
    const { destination } = request;
    if (!isAbsolute(destination)) {
      throw new HostError('destination-refused', `The destination ${JSON.stringify(destination)} is not an absolute path.`);
    }
    let folder: string;
    try {
      folder = await realpath(destination);
      if (!(await stat(folder)).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new HostError('destination-refused', `The destination ${destination} is not an existing folder on this computer (${describeError(error)}). The app must create it and write app.csr there first.`);
    }
    let onDisk: string;
    try {
      onDisk = await readFile(join(folder, 'app.csr'), 'utf8');
    } catch (error) {
      throw new HostError('destination-refused', `The destination ${destination} holds no readable app.csr (${describeError(error)}); sonarhost writes certificates only into the folder of the app that asked.`);
    }
    if (normalizeCsr(onDisk) !== request.csr.pem) {
      throw new HostError('destination-refused', `The app.csr in ${destination} differs from the CSR that was sent; sonarhost writes certificates only into the folder of the app that asked.`);
    }
    return { deviceId: '', detail: folder };
  }

  async deploy(_request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void> {
    const folder = target.detail as string;
    for (const file of files) {
      // A rename replaces a symlink planted at the file name instead of following it.
      await writeFileAtomic(join(folder, file.name), file.contents, 0o644);
    }
  }
}
