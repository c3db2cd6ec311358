import { type ClientPlugin, type PluginConnection } from '../../src/client/client-plugin.js';

/** An app-side plugin that echoes, and sends a `ready` event when the host inits it. */
export function demoPlugin(id = 'demo', runInBackground = true): ClientPlugin & { connection?: PluginConnection } {
  const plugin: ClientPlugin & { connection?: PluginConnection } = {
    id,
    runInBackground,
    receivers: {
      echo: (params) => params,
      fail: () => {
        throw new Error('asked to fail');
      },
    },
    onConnect(connection) {
      plugin.connection = connection;
      connection.send('ready', { plugin: id });
    },
    onDisconnect() {
      plugin.connection = undefined;
    },
  };
  return plugin;
}
