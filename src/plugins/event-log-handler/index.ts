import { type PluginDescriptor } from '../../core/plugin-descriptor.js';
import { eventLogHandlerModule } from './event-log-handler-module.js';

export const eventLogHandlerPlugin: PluginDescriptor = {
  id: 'event-log',
  kind: 'connection-handler',
  description: 'claims every plugin (so background plugins are initialised) and logs connections and plugin events',
  module: eventLogHandlerModule,
};

export default eventLogHandlerPlugin;
