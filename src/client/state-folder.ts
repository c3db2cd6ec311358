import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';

/** The SDKs' file names inside `<private app dir>/sonar/` (docs/protocol-rsocket.md, "The app's state folder"). */
export const STATE_FILES = {
  csr: 'app.csr',
  privateKey: 'privateKey.pem',
  caCertificate: 'sonarCA.crt',
  deviceCertificate: 'device.crt',
  connectionConfig: 'connection_config.json',
} as const;

export interface SecureMaterial {
  key: string;
  cert: string;
  ca: string;
  csr: string;
  deviceId: string | undefined;
}

/** The app-side state folder, as the Flipper SDKs keep it. `path` always ends with a slash. */
export class StateFolder {
  readonly path: string;

  constructor(path: string) {
    this.path = path.endsWith('/') ? path : path + '/';
  }

  /** sonarCA.crt, device.crt, privateKey.pem and connection_config.json all exist and are non-empty. */
  async hasRequiredFiles(): Promise<boolean> {
    for (const name of [STATE_FILES.caCertificate, STATE_FILES.deviceCertificate, STATE_FILES.privateKey, STATE_FILES.connectionConfig]) {
      try {
        if ((await stat(join(this.path, name))).size === 0) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  /** Deletes the whole state and recreates the folder (mode 0700), as the SDKs do before an exchange. */
  async reset(): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o700 });
    await chmod(this.path, 0o700);
    for (const name of Object.values(STATE_FILES)) await rm(join(this.path, name), { force: true });
  }

  async writeKeyAndCsr(privateKeyPem: string, csrPem: string): Promise<void> {
    await writeFileAtomic(join(this.path, STATE_FILES.privateKey), privateKeyPem, 0o600);
    await writeFileAtomic(join(this.path, STATE_FILES.csr), csrPem, 0o600);
  }

  async writeConnectionConfig(config: Record<string, unknown>): Promise<void> {
    await writeFileAtomic(join(this.path, STATE_FILES.connectionConfig), JSON.stringify(config), 0o600);
  }

  async readSecureMaterial(): Promise<SecureMaterial> {
    const read = (name: string) => readFile(join(this.path, name), 'utf8');
    const config = JSON.parse(await read(STATE_FILES.connectionConfig)) as { deviceId?: unknown };
    return {
      key: await read(STATE_FILES.privateKey),
      cert: await read(STATE_FILES.deviceCertificate),
      ca: await read(STATE_FILES.caCertificate),
      csr: await read(STATE_FILES.csr),
      deviceId: typeof config.deviceId === 'string' ? config.deviceId : undefined,
    };
  }
}
