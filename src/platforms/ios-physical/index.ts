import { HostConfig } from '../../core/host-config.js';
import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { iosPhysicalModule } from './ios-physical-module.js';

export const iosPhysicalPlugin: PluginDescriptor = {
  id: 'ios-physical',
  kind: 'device-transport',
  description:
    'apps on physical iPhones and iPads over USB, through usbmuxd (no Xcode or idb): certificates through lockdown, house_arrest and AFC (development-signed apps), traffic through FlipperKit\'s Peertalk port forwarding',
  module: iosPhysicalModule,
  requires: [HostConfig],
};

export default iosPhysicalPlugin;
