import { type PluginDescriptor } from '../core/plugin-descriptor.js';
import { androidPlugin } from '../platforms/android/index.js';
import { desktopPlugin } from '../platforms/desktop/index.js';
import { iosPhysicalPlugin } from '../platforms/ios-physical/index.js';
import { iosSimulatorPlugin } from '../platforms/ios-simulator/index.js';
import { defaultExchangePlugin } from '../plugins/default-exchange/index.js';
import { eventLogHandlerPlugin } from '../plugins/event-log-handler/index.js';
import { fileCertificateStorePlugin } from '../plugins/file-certificate-store/index.js';
import { flipperServerApiPlugin } from '../plugins/flipper-server-api/index.js';
import { httpApiPlugin } from '../plugins/http-api/index.js';
import { rsocketTransportPlugin } from '../plugins/rsocket-transport/index.js';
import { webSocketTransportPlugin } from '../plugins/websocket-transport/index.js';

/** The catalog of plugins that ship with sonarhost, selectable by id in the config. */
export const BUILTIN_PLUGINS: readonly PluginDescriptor[] = [fileCertificateStorePlugin, defaultExchangePlugin, rsocketTransportPlugin, webSocketTransportPlugin, desktopPlugin, androidPlugin, iosSimulatorPlugin, iosPhysicalPlugin, eventLogHandlerPlugin, httpApiPlugin, flipperServerApiPlugin];
