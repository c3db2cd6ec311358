import { HostConfig } from '../../core/host-config.js';
import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { desktopModule } from './desktop-module.js';

export const desktopPlugin: PluginDescriptor = {
  id: 'desktop',
  kind: 'device-transport',
  description: 'apps on this computer (os MacOS, Windows, Linux): writes into their local folder after an app.csr check',
  module: desktopModule,
  requires: [HostConfig],
};

export default desktopPlugin;
