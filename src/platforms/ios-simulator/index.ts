import { HostConfig } from '../../core/host-config.js';
import { Logger } from '../../core/logger.js';
import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { iosSimulatorModule } from './ios-simulator-module.js';

export const iosSimulatorPlugin: PluginDescriptor = {
  id: 'ios-simulator',
  kind: 'device-transport',
  description: "iOS simulators on this Mac: finds them in CoreSimulator's folder (no Xcode tools) and writes into the app's data container after container-owner and app.csr checks",
  module: iosSimulatorModule,
  requires: [HostConfig, Logger],
};

export default iosSimulatorPlugin;
