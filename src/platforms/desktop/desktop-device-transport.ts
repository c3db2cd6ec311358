import { realpathSync, statSync } from 'node:fs';
import * as os from 'node:os';
import { isAbsolute, join } from 'node:path';
import { inject, injectable, optional } from 'inversify';
import { replaceFileSync } from '../../core/atomic-file.js';
import { ClientRegistry } from '../../core/client-registry.js';
import { type DeviceFile, type DeviceSummary, type DeviceTarget, type DeviceTransport, type ExchangeRequest } from '../../core/device-transport.js';
import { HostConfig } from '../../core/host-config.js';
import { HostError, describeError } from '../../core/host-error.js';
import { readRegularFileSync } from '../../core/regular-file.js';
import { normalizeCsr } from '../../core/x509/csr.js';

export const DESKTOP_OSES = ['MacOS', 'Windows', 'Linux'];

/** This computer's OS under the name desktop SDKs send in their query (`MacOS`, `Windows`, `Linux`). */
export function desktopOs(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'MacOS';
  if (platform === 'win32') return 'Windows';
  return 'Linux'; // and the other Unix-likes: the closest of the three names
}

/**
 * Desktop apps (the C++/macOS SDKs, and Node apps using our client SDK) run on this machine: their
 * certificate folder is a local path. It is written only when it is an existing directory holding an
 * `app.csr` equal to the received CSR, which proves the requester owns that folder; the files go
 * into the resolved folder and nowhere else. Any local process can name any path, so app.csr is read
 * as the iOS simulator transport reads it: no link at its name, a regular file, a non-blocking open
 * (a FIFO cannot hang a thread), at most twice the CSR size limit; and the folder must still resolve
 * to the same place when the files are written. deviceId is "" ("this computer"), as upstream.
 */
@injectable()
export class DesktopDeviceTransport implements DeviceTransport {
  readonly id = 'desktop';

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(ClientRegistry) @optional() private readonly registry?: ClientRegistry,
  ) {}

  /** This computer, while desktop apps are connected to the running host (it has no other devices). */
  async listDevices(): Promise<DeviceSummary[]> {
    const apps = (this.registry?.list() ?? []).filter((s) => DESKTOP_OSES.includes(s.query.os)).map((s) => s.query.app);
    if (apps.length === 0) return [];
    return [
      {
        transport: this.id,
        id: os.hostname(),
        name: 'this computer',
        state: 'connected',
        os: desktopOs(process.platform),
        deviceType: 'physical',
        features: { screenshot: false, logs: false },
        details: { os: `${os.type()} ${os.release()}`, apps: [...new Set(apps)].join(', ') },
      },
    ];
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
      // Synchronous, as are the reads and writes below: see readRegularFileSync and replaceFileSync.
      folder = realpathSync.native(destination);
      if (!statSync(folder).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new HostError('destination-refused', `The destination ${destination} is not an existing folder on this computer (${describeError(error)}). The app must create it and write app.csr there first.`);
    }
    let onDisk: string;
    try {
      // A CSR sent with CRLF line ends is at most twice the size limit the exchange already enforced.
      onDisk = readRegularFileSync(join(folder, 'app.csr'), 2 * this.config.limits.maxCsrBytes).toString('utf8');
    } catch (error) {
      throw new HostError(
        'destination-refused',
        `The destination ${destination} holds no readable app.csr (${describeError(error)}); app.csr must be a plain file the app wrote there (not a link, FIFO or device), as sonarhost writes certificates only into the folder of the app that asked.`,
      );
    }
    if (normalizeCsr(onDisk) !== request.csr.pem) {
      throw new HostError('destination-refused', `The app.csr in ${destination} differs from the CSR that was sent; sonarhost writes certificates only into the folder of the app that asked.`);
    }
    return { deviceId: '', detail: folder };
  }

  async deploy(_request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void> {
    const folder = target.detail as string;
    // Signing happens between locate and deploy: if a folder on the way became a link meanwhile, stop.
    const now = resolvedOrUndefined(folder);
    if (now !== folder) {
      throw new HostError('destination-refused', `The folder ${folder} changed while its certificates were being made${now ? ` (it now resolves to ${now})` : ''}; nothing was written. Let the app retry.`);
    }
    for (const file of files) {
      // A link planted at the file name is removed, never followed. No fsync: a
      // certificate lost to a power cut is missing or fails TLS, and the SDKs redo the exchange for both.
      replaceFileSync(join(folder, file.name), file.contents, 0o644);
    }
  }
}

function resolvedOrUndefined(path: string): string | undefined {
  try {
    return realpathSync.native(path);
  } catch {
    return undefined;
  }
}
