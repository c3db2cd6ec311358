/**
 * What a plugin written outside this repository imports (as `sonarhost/plugin-api`): the contracts
 * and tokens it binds or injects, and the helpers it needs. Tokens are `Symbol.for('sonarhost.<Name>')`,
 * so they are the same value in every installed copy of sonarhost; PLUGIN_API_VERSION (stamped on a
 * descriptor by `definePlugin`) says whether two copies agree on what the tokens mean.
 *
 * inversify and reflect-metadata are re-exported from here so an author depends on sonarhost alone:
 * the decorators and ContainerModule then come from the same inversify major as the host's (the plugin
 * API major changes with it), and their metadata lives in reflect-metadata's process-wide registry,
 * which is what lets classes from another installed copy resolve in the host's container.
 */
import 'reflect-metadata';

export { ContainerModule, inject, injectable, multiInject, optional } from 'inversify';
export { type PluginDescriptor, type PluginKind, PLUGIN_API_VERSION, definePlugin } from './plugin-descriptor.js';
export { DeviceTransport, type DeviceFile, type DeviceLogEntry, type DeviceLogLevel, type DeviceSummary, type DeviceTarget, type ExchangeRequest } from './device-transport.js';
export { ConnectionHandler, type AppClient, type PluginEvent } from './connection-handler.js';
export { CertificateStore } from './certificate-store.js';
export { CertificateExchange } from './certificate-exchange.js';
export { HostService, type HostServicePhase } from './host-service.js';
export { HostConfig } from './host-config.js';
export { Logger } from './logger.js';
export { Clock } from './clock.js';
export { type Disposable } from './disposable.js';
export { HostError, type HostErrorKind } from './host-error.js';
export { type HealthCheck } from './health-check.js';
export { type ClientQuery } from './client-query.js';
export { writeFileAtomic } from './atomic-file.js';
export { normalizeCsr } from './x509/csr.js';
