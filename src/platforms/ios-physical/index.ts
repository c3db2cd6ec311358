import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { iosPhysicalModule } from './ios-physical-module.js';

export const iosPhysicalPlugin: PluginDescriptor = {
  id: 'ios-physical',
  kind: 'device-transport',
  description: 'apps on physical iPhones and iPads (destinations under /var/mobile/Containers/): not supported yet; refuses with how to plug in a transport that can reach the device',
  module: iosPhysicalModule,
};

export default iosPhysicalPlugin;
