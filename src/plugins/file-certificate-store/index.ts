import { Clock } from '../../core/clock.js';
import { HostConfig } from '../../core/host-config.js';
import { Logger } from '../../core/logger.js';
import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { fileCertificateStoreModule } from './file-certificate-store-module.js';

export const fileCertificateStorePlugin: PluginDescriptor = {
  id: 'file-certificate-store',
  kind: 'certificate-store',
  description: 'CA and server certificate in a folder (default ~/.sonar), Flipper-compatible file names, in-process crypto',
  module: fileCertificateStoreModule,
  requires: [HostConfig, Clock, Logger],
};

export default fileCertificateStorePlugin;
