import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { HostError } from '../../core/host-error.js';

export const FLIPPER_SETTINGS_FILE = 'flipper-settings.json';
const MAX_SETTINGS_BYTES = 256 * 1024;

/** What flipper-server starts with; the UI's settings screen edits these and saves them with persist-settings. */
export const DEFAULT_FLIPPER_SETTINGS: Record<string, unknown> = {
  androidHome: process.env.ANDROID_HOME ?? process.env.ANDROID_SDK_ROOT ?? '',
  enableAndroid: true,
  enableIOS: process.platform === 'darwin',
  enablePhysicalIOS: process.platform === 'darwin',
  enablePrefetching: 2,
  idbPath: '',
  darkMode: 'light',
  showWelcomeAtStartup: false,
  suppressPluginErrors: false,
  persistDeviceData: false,
  enablePluginMarketplace: false,
  marketplaceURL: '',
  enablePluginMarketplaceAutoUpdate: false,
  server: { enabled: true },
};

/**
 * The UI's settings, kept in the certificate folder (`flipper-settings.json`, mode 0600, replaced
 * atomically). They are the UI's preferences only: sonarhost's own behaviour stays in its config.
 */
export class FlipperSettings {
  constructor(private readonly certDir: string) {}

  get path(): string {
    return join(this.certDir, FLIPPER_SETTINGS_FILE);
  }

  async load(): Promise<Record<string, unknown>> {
    try {
      const stored = JSON.parse(await readFile(this.path, 'utf8')) as unknown;
      if (isObject(stored)) return { ...DEFAULT_FLIPPER_SETTINGS, ...stored };
    } catch {
      // missing or damaged: the defaults, and the next save replaces the file
    }
    return { ...DEFAULT_FLIPPER_SETTINGS };
  }

  async save(settings: unknown): Promise<void> {
    if (!isObject(settings)) throw new HostError('protocol-invalid', 'persist-settings takes one argument, the settings object.');
    const text = JSON.stringify(settings, null, 2) + '\n';
    if (Buffer.byteLength(text) > MAX_SETTINGS_BYTES) throw new HostError('protocol-invalid', `The settings are larger than ${MAX_SETTINGS_BYTES} bytes; nothing was saved.`);
    await writeFileAtomic(this.path, text, 0o600);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
