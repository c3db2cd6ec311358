import { type PluginDescriptor } from '../core/plugin-descriptor.js';
import { fileCertificateStorePlugin } from '../plugins/file-certificate-store/index.js';

/** The catalog of plugins that ship with sonarhost, selectable by id in the config. */
export const BUILTIN_PLUGINS: readonly PluginDescriptor[] = [fileCertificateStorePlugin];
