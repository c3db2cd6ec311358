import { dirname } from 'node:path';
import { type ConfigFlags, type LoadedConfig, loadHostConfig } from '../host/load-host-config.js';
import { type LogLevel, type Logger, SinkLogger, jsonLineSink, prettySink } from '../core/logger.js';
import { type ComposedHost, createHostContainer, pluginModuleEntries } from '../host/create-host-container.js';

/** Shared by the commands: the options every command accepts, and the logger they build. */
export const COMMON_OPTIONS = {
  config: { type: 'string' },
  ports: { type: 'string' },
  'alt-ports': { type: 'string' },
  'browser-port': { type: 'string' },
  'api-port': { type: 'string' },
  'flipper-port': { type: 'string' },
  host: { type: 'string' },
  'cert-dir': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const COMMON_HELP = `Common options:
  --config FILE        config file (default: ./sonarhost.config.json when present; env SONARHOST_CONFIG).
                       Only start imports plugin modules named by a config found in the working folder;
                       the other commands do so only for a config named here or in SONARHOST_CONFIG
  --cert-dir DIR       certificate folder (default: ~/.sonar; env SONARHOST_CERT_DIR)
  --ports I,S          RSocket insecure and secure ports (default: 8089,8088; env FLIPPER_PORTS)
  --alt-ports I,S      WebSocket insecure and secure ports (default: 9089,9088; env FLIPPER_ALT_PORTS)
  --browser-port P     WebSocket port for js-flipper and browsers (default: 8333; env FLIPPER_BROWSER_PORT)
  --api-port P|off     local HTTP API and dashboard, on 127.0.0.1 (default: 8090; env SONARHOST_API_PORT)
  --flipper-port P|off flipper-server-compatible API for Flipper's UI, on 127.0.0.1 and ::1
                       (default: 52342; env SONARHOST_FLIPPER_PORT)
  --host ADDRS         bind addresses, comma-separated (default: 127.0.0.1,::1; env SONARHOST_HOST)
  --log-level LEVEL    debug, info, warn or error (default: info; env SONARHOST_LOG_LEVEL)
  -h, --help           show help`;

export interface CommonValues {
  config?: string;
  ports?: string;
  'alt-ports'?: string;
  'browser-port'?: string;
  'api-port'?: string;
  'flipper-port'?: string;
  host?: string;
  'cert-dir'?: string;
  'log-level'?: string;
}

export function configFlags(values: CommonValues): ConfigFlags {
  return { config: values.config, ports: values.ports, altPorts: values['alt-ports'], browserPort: values['browser-port'], apiPort: values['api-port'], flipperPort: values['flipper-port'], host: values.host, certDir: values['cert-dir'], logLevel: values['log-level'] };
}

export async function loadConfigFromFlags(values: CommonValues): Promise<LoadedConfig> {
  return loadHostConfig(configFlags(values));
}

/** The config file's folder: plugins named by package are looked up from there first. */
export function configFolder(file: string | undefined): string | undefined {
  return file === undefined ? undefined : dirname(file);
}

/**
 * The host graph for a command that only looks (doctor, devices, certs). Plugin modules (paths and
 * packages) named by a config found in the working folder are not imported: running a diagnostic
 * inside a cloned repository must not run that repository's code. A config the user named (--config
 * or SONARHOST_CONFIG) loads them, and one stderr line says which. Either way the user is told.
 */
export async function composeForDiagnostics(command: string, loaded: LoadedConfig, logger: Logger, stderr: NodeJS.WritableStream = process.stderr): Promise<ComposedHost> {
  const { config, file, named } = loaded;
  const modules = pluginModuleEntries(config);
  if (modules.length > 0 && file !== undefined) {
    const list = modules.map((m) => `${m.configKey} = ${m.specifier}`).join(', ');
    stderr.write(
      named
        ? `sonarhost ${command}: loading the plugin modules named by ${file}: ${list}\n`
        : `sonarhost ${command}: not loading the plugin modules named by ${file} (found in the working folder, so possibly not yours): ${list}; ` +
            `built-in plugins stand in. To load them, name the file: --config ${file}\n`,
    );
  }
  return createHostContainer(config, { logger, configDir: configFolder(file), pluginModules: named ? 'load' : 'skip' });
}

/** Human-readable lines on a terminal, JSON lines otherwise (pipes, files, services). */
export function createCliLogger(level: LogLevel, stream: NodeJS.WriteStream = process.stderr): Logger {
  return new SinkLogger(stream.isTTY ? prettySink(stream) : jsonLineSink(stream), level);
}
