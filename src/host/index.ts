/**
 * sonarhost as a library (`sonarhost/host`): start a host in your own process, see and call the apps
 * that connect, follow their events, and stop it. README, "Using sonarhost from code".
 */
import 'reflect-metadata';

export {
  startHost,
  type CallOptions,
  type DeviceReport,
  type HostEventSubscriptions,
  type HostPorts,
  type PluginRef,
  type RunningHost,
  type StartHostOptions,
} from './start-host.js';
export { type HostEventFilter } from '../core/host-event-filter.js';
export { type ClientInfo, type HostEvent } from '../core/host-events.js';
export { type ClientCandidate, ClientLookupError } from '../core/client-directory.js';
export { HostError, type HostErrorKind } from '../core/host-error.js';
export { AppResponseError } from '../core/protocol/json-message.js';
export { type HealthCheck } from '../core/health-check.js';
export { type LogLevel, type LogRecord, type LogSink, type Logger } from '../core/logger.js';
export { type PluginDescriptor } from '../core/plugin-descriptor.js';
