import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { flipperServerApiModule } from './flipper-server-api-module.js';

export const flipperServerApiPlugin: PluginDescriptor = {
  id: 'flipper-server-api',
  kind: 'service',
  description: "flipper-server-compatible API for Flipper's browser UI and flipper-server-client tools (token-guarded, loopback only), default port 52342",
  module: flipperServerApiModule,
  requires: [],
};

export default flipperServerApiPlugin;
