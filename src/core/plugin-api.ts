/**
 * What a plugin written outside this repository imports (as `sonarhost/plugin-api`): the contracts
 * and tokens it binds or injects, and the helpers it needs. Importing them from here guarantees the
 * same symbol instances as the host's, which is what makes the bindings meet.
 */
export { type PluginDescriptor, type PluginKind } from './plugin-descriptor.js';
export { DeviceTransport, type DeviceFile, type DeviceSummary, type DeviceTarget, type ExchangeRequest } from './device-transport.js';
export { ConnectionHandler, type AppClient, type PluginEvent } from './connection-handler.js';
export { CertificateStore } from './certificate-store.js';
export { CertificateExchange } from './certificate-exchange.js';
export { HostService } from './host-service.js';
export { HostConfig } from './host-config.js';
export { Logger } from './logger.js';
export { HostError, type HostErrorKind } from './host-error.js';
export { type HealthCheck } from './health-check.js';
export { type ClientQuery } from './client-query.js';
export { writeFileAtomic } from './atomic-file.js';
export { normalizeCsr } from './x509/csr.js';
