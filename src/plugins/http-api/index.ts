import { CertificateStore } from '../../core/certificate-store.js';
import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { httpApiModule } from './http-api-module.js';

export const httpApiPlugin: PluginDescriptor = {
  id: 'http-api',
  kind: 'service',
  description: 'local HTTP API (token-guarded, loopback only) and live dashboard, default port 8090',
  module: httpApiModule,
  requires: [CertificateStore],
};

export default httpApiPlugin;
