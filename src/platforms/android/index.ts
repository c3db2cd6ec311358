import { HostConfig } from '../../core/host-config.js';
import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { androidModule } from './android-module.js';

export const androidPlugin: PluginDescriptor = {
  id: 'android',
  kind: 'device-transport',
  description: 'Android devices through adb: device tracking, adb reverse, run-as (or su) certificate deployment, CSR device matching',
  module: androidModule,
  requires: [HostConfig],
};

export default androidPlugin;
