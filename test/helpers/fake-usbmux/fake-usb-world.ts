import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeIphone } from './fake-iphone.js';
import { FakeUsbmuxd } from './fake-usbmuxd.js';
import { type PairingMaterial } from './pair-record.js';

export const PHONE_CONTAINERS = '/var/mobile/Containers/Data/Application/';
export const SONAR = ['Library', 'Application Support', 'sonar'] as const;

/** A fake usbmuxd in `dir` and helpers to plug in phones and install apps on them. */
export class FakeUsbWorld {
  private constructor(
    readonly dir: string,
    readonly usbmuxd: FakeUsbmuxd,
  ) {}

  static async start(dir: string): Promise<FakeUsbWorld> {
    return new FakeUsbWorld(dir, await new FakeUsbmuxd(join(dir, 'usbmuxd.sock')).start());
  }

  /** A phone (not yet attached) with the given pairing. */
  phone(udid: string, name: string, pairing: PairingMaterial, connectionType: 'USB' | 'Network' = 'USB'): FakeIphone {
    return new FakeIphone(udid, name, pairing, { connectionType });
  }

  /**
   * Installs an app: a container folder on "the phone", optionally holding `app.csr` already. Returns
   * the local sonar folder and the absolute path the app would send as its destination.
   */
  async install(phone: FakeIphone, bundleId: string, options: { developmentSigned?: boolean; csr?: string; uuid?: string } = {}): Promise<{ container: string; sonarFolder: string; destination: string }> {
    const uuid = options.uuid ?? `C0FFEE00-0000-4000-8000-${String(phone.apps.size + 1).padStart(12, '0')}`;
    const container = join(this.dir, 'phones', phone.udid, uuid);
    const sonarFolder = join(container, ...SONAR);
    await mkdir(sonarFolder, { recursive: true });
    if (options.csr !== undefined) await writeFile(join(sonarFolder, 'app.csr'), options.csr);
    phone.apps.set(bundleId, { container, developmentSigned: options.developmentSigned ?? true });
    return { container, sonarFolder, destination: `${PHONE_CONTAINERS}${uuid}/${SONAR.join('/')}/` };
  }

  async stop(): Promise<void> {
    await this.usbmuxd.stop();
  }
}
