import { CertificateExchange } from '../../core/certificate-exchange.js';
import { CertificateStore } from '../../core/certificate-store.js';
import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { rsocketTransportModule } from './rsocket-transport-module.js';

export const rsocketTransportPlugin: PluginDescriptor = {
  id: 'rsocket',
  kind: 'transport',
  description: 'RSocket over TCP (certificate exchange, default port 8089) and TLS with client certificates (default port 8088)',
  module: rsocketTransportModule,
  requires: [CertificateStore, CertificateExchange],
};

export default rsocketTransportPlugin;
