/**
 * An author's kit (`sonarhost/testing`), for a plugin package's own tests with node:test: conformance
 * suites for device transports and connection handlers, and a real host in-process that drives the
 * project's client SDK through the certificate exchange and the secure connection.
 */
import 'reflect-metadata';

export { describeDeviceTransportConformance, DEVICE_TRANSPORT_ERROR_KINDS, type DeviceTransportConformanceOptions, type DeviceTransportFixture } from './device-transport-conformance.js';
export { describeConnectionHandlerConformance, fakeAppClient, type ConnectionHandlerConformanceOptions } from './connection-handler-conformance.js';
export { startPluginHost, freeLoopbackPorts, type AppOptions, type ConnectedApp, type PluginHost, type PluginHostOptions } from './plugin-host.js';
export { type ClientPlugin, type PluginConnection } from '../client/client-plugin.js';
