// The app-side SDK: what a Flipper SDK does inside an app, for Node and desktop apps, tests and benchmarks.
export { FlipperClient, type FlipperClientOptions, type ClientState } from './flipper-client.js';
export { type ClientPlugin, type PluginConnection, PluginError } from './client-plugin.js';
export { StateFolder, STATE_FILES } from './state-folder.js';
