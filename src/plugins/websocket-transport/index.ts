import { CertificateExchange } from '../../core/certificate-exchange.js';
import { CertificateStore } from '../../core/certificate-store.js';
import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { webSocketTransportModule } from './websocket-transport-module.js';

export const webSocketTransportPlugin: PluginDescriptor = {
  id: 'websocket',
  kind: 'transport',
  description: 'WebSocket: certificate exchange (default 9089), TLS with client certificates (9088), js-flipper browser port (8333)',
  module: webSocketTransportModule,
  requires: [CertificateStore, CertificateExchange],
};

export default webSocketTransportPlugin;
