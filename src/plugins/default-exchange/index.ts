import { CertificateStore } from '../../core/certificate-store.js';
import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { defaultExchangeModule } from './default-exchange-module.js';

export const defaultExchangePlugin: PluginDescriptor = {
  id: 'default-exchange',
  kind: 'exchange',
  description: 'verify the CSR, locate the device through its transport, sign, deploy sonarCA.crt and device.crt',
  module: defaultExchangeModule,
  requires: [CertificateStore],
};

export default defaultExchangePlugin;
