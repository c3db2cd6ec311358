import { type Container } from 'inversify';
import { type HostConfig, type PluginSelection } from '../core/host-config.js';
import { HostError } from '../core/host-error.js';
import { silentLogger } from '../core/logger.js';
import { type PluginDescriptor, type PluginKind, apiVersionProblem } from '../core/plugin-descriptor.js';
import { BUILTIN_PLUGINS } from '../host/builtin-plugins.js';
import { defaultConfig } from '../host/config-sources.js';
import { createHostContainer } from '../host/create-host-container.js';

const LIST_SLOTS: Partial<Record<PluginKind, keyof PluginSelection>> = {
  transport: 'transports',
  'device-transport': 'deviceTransports',
  'connection-handler': 'connectionHandlers',
  service: 'services',
};

/**
 * The host's container (same composition root, same checks) with only the author's plugin in the list
 * slots, so a conformance suite gets the plugin's services exactly as the host would build them.
 */
export async function pluginContainer(plugin: PluginDescriptor, pluginOptions: HostConfig['pluginOptions'], certDir: string): Promise<Container> {
  const problem = apiVersionProblem(plugin.apiVersion);
  if (problem) throw new HostError('plugin-invalid', `plugin "${plugin.id}": ${problem}.`);
  const plugins: PluginSelection = { certificateStore: 'file-certificate-store', exchange: 'default-exchange', transports: [], deviceTransports: [], connectionHandlers: [], services: [] };
  const list = LIST_SLOTS[plugin.kind];
  if (list) (plugins[list] as string[]) = [plugin.id];
  else if (plugin.kind === 'certificate-store') plugins.certificateStore = plugin.id;
  else plugins.exchange = plugin.id;
  const config: HostConfig = { ...defaultConfig(), host: ['127.0.0.1'], api: { port: false }, flipperServer: { port: false }, certDir, plugins, pluginOptions };
  const { container } = await createHostContainer(config, { catalog: [...BUILTIN_PLUGINS, plugin], logger: silentLogger });
  return container;
}
