import { type LazyPluginDescriptor } from '../core/plugin-descriptor.js';

/**
 * The catalog of plugins that ship with sonarhost, selectable by id in the config. Each is imported
 * only when a config selects it (start-up time: a host without Android never loads adb's client).
 */
export const BUILTIN_PLUGINS: readonly LazyPluginDescriptor[] = [
  { id: 'file-certificate-store', kind: 'certificate-store', load: async () => (await import('../plugins/file-certificate-store/index.js')).fileCertificateStorePlugin },
  { id: 'default-exchange', kind: 'exchange', load: async () => (await import('../plugins/default-exchange/index.js')).defaultExchangePlugin },
  { id: 'rsocket', kind: 'transport', load: async () => (await import('../plugins/rsocket-transport/index.js')).rsocketTransportPlugin },
  { id: 'websocket', kind: 'transport', load: async () => (await import('../plugins/websocket-transport/index.js')).webSocketTransportPlugin },
  { id: 'desktop', kind: 'device-transport', load: async () => (await import('../platforms/desktop/index.js')).desktopPlugin },
  { id: 'android', kind: 'device-transport', load: async () => (await import('../platforms/android/index.js')).androidPlugin },
  { id: 'ios-simulator', kind: 'device-transport', load: async () => (await import('../platforms/ios-simulator/index.js')).iosSimulatorPlugin },
  { id: 'ios-physical', kind: 'device-transport', load: async () => (await import('../platforms/ios-physical/index.js')).iosPhysicalPlugin },
  { id: 'event-log', kind: 'connection-handler', load: async () => (await import('../plugins/event-log-handler/index.js')).eventLogHandlerPlugin },
  { id: 'http-api', kind: 'service', load: async () => (await import('../plugins/http-api/index.js')).httpApiPlugin },
  { id: 'flipper-server-api', kind: 'service', load: async () => (await import('../plugins/flipper-server-api/index.js')).flipperServerApiPlugin },
];
