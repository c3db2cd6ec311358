import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { HostError, describeError } from '../core/host-error.js';
import { describeJsonSyntaxError } from './json-syntax-error.js';
import { type HostConfig, type PluginSelection } from '../core/host-config.js';
import {
  type ConfigOrigin,
  DEFAULT_CONFIG_FILE,
  configError,
  defaultConfig,
  parseHosts,
  parseLogLevel,
  parsePort,
  parsePortPair,
  resolvePath,
} from './config-sources.js';

/** The options the CLI accepts that override the config file and environment. */
export interface ConfigFlags {
  config?: string;
  ports?: string;
  altPorts?: string;
  browserPort?: string;
  apiPort?: string;
  flipperPort?: string;
  host?: string;
  certDir?: string;
  logLevel?: string;
}

export interface LoadedConfig {
  config: HostConfig;
  /** Origin of each top-level setting (dotted keys for nested ones). */
  origins: Record<string, ConfigOrigin>;
  /** The config file that was read, if any. */
  file: string | undefined;
  /**
   * Whether the user named that file (`--config` or SONARHOST_CONFIG) rather than it being found in the
   * working folder. A file found there may come with a cloned repository: its plugin modules are code
   * the user never chose to run, which commands that only look must not import.
   */
  named: boolean;
}

const FILE_KEYS = ['host', 'ports', 'webSocket', 'api', 'flipperServer', 'certDir', 'logLevel', 'plugins', 'limits', 'pluginOptions'] as const;
const PLUGIN_LIST_KEYS = ['transports', 'deviceTransports', 'connectionHandlers', 'services'] as const;
/** webSocket's ports are set separately (--alt-ports sets two, --browser-port the third), so each has its origin. */
const WEB_SOCKET_KEYS = ['webSocket.insecure', 'webSocket.secure', 'webSocket.browser'] as const;

/** Every source that set part of a value, e.g. "flag --alt-ports, flag --browser-port"; "default" when none did. */
function combinedOrigin(parts: ConfigOrigin[]): ConfigOrigin {
  const set = [...new Set(parts.filter((o) => o !== 'default'))];
  return set.length === 0 ? 'default' : (set.join(', ') as ConfigOrigin);
}

/**
 * Builds the effective config: defaults < config file < environment < flags. The file is
 * `--config FILE`, else `$SONARHOST_CONFIG`, else `sonarhost.config.json` in the working directory
 * when it exists. Every problem names the key, where it came from and the expected form.
 */
export async function loadHostConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<LoadedConfig> {
  const config = defaultConfig();
  const origins: Record<string, ConfigOrigin> = {};
  for (const key of ['host', 'ports', 'webSocket', 'api', 'flipperServer', 'certDir', 'logLevel', 'plugins', 'limits', 'pluginOptions', ...WEB_SOCKET_KEYS]) origins[key] = 'default';

  const explicit = flags.config ?? (env.SONARHOST_CONFIG || undefined);
  const file = explicit !== undefined ? resolvePath(explicit, cwd) : resolve(cwd, DEFAULT_CONFIG_FILE);
  const raw = await readConfigFile(file, explicit !== undefined);
  if (raw !== undefined) applyFile(config, origins, raw, file);

  if (env.FLIPPER_PORTS !== undefined && env.FLIPPER_PORTS !== '') {
    config.ports = parsePortPair(env.FLIPPER_PORTS, 'FLIPPER_PORTS', 'environment');
    origins.ports = 'env FLIPPER_PORTS';
  }
  if (env.FLIPPER_ALT_PORTS !== undefined && env.FLIPPER_ALT_PORTS !== '') {
    const pair = parsePortPair(env.FLIPPER_ALT_PORTS, 'FLIPPER_ALT_PORTS', 'environment');
    config.webSocket = { ...config.webSocket, ...pair };
    origins['webSocket.insecure'] = origins['webSocket.secure'] = 'env FLIPPER_ALT_PORTS';
  }
  if (env.FLIPPER_BROWSER_PORT !== undefined && env.FLIPPER_BROWSER_PORT !== '') {
    config.webSocket = { ...config.webSocket, browser: parsePort(env.FLIPPER_BROWSER_PORT, 'FLIPPER_BROWSER_PORT', 'environment') };
    origins['webSocket.browser'] = 'env FLIPPER_BROWSER_PORT';
  }
  if (env.SONARHOST_API_PORT) {
    config.api = { port: env.SONARHOST_API_PORT === 'off' ? false : parsePort(env.SONARHOST_API_PORT, 'SONARHOST_API_PORT', 'environment') };
    origins.api = 'env SONARHOST_API_PORT';
  }
  if (env.SONARHOST_FLIPPER_PORT) {
    config.flipperServer = { port: env.SONARHOST_FLIPPER_PORT === 'off' ? false : parsePort(env.SONARHOST_FLIPPER_PORT, 'SONARHOST_FLIPPER_PORT', 'environment') };
    origins.flipperServer = 'env SONARHOST_FLIPPER_PORT';
  }
  if (env.SONARHOST_HOST) {
    config.host = parseHosts(env.SONARHOST_HOST, 'SONARHOST_HOST', 'environment');
    origins.host = 'env SONARHOST_HOST';
  }
  if (env.SONARHOST_CERT_DIR) {
    config.certDir = resolvePath(env.SONARHOST_CERT_DIR, cwd);
    origins.certDir = 'env SONARHOST_CERT_DIR';
  }
  if (env.SONARHOST_LOG_LEVEL) {
    config.logLevel = parseLogLevel(env.SONARHOST_LOG_LEVEL, 'SONARHOST_LOG_LEVEL', 'environment');
    origins.logLevel = 'env SONARHOST_LOG_LEVEL';
  }

  if (flags.ports !== undefined) {
    config.ports = parsePortPair(flags.ports, '--ports', 'the command line');
    origins.ports = 'flag --ports';
  }
  if (flags.altPorts !== undefined) {
    config.webSocket = { ...config.webSocket, ...parsePortPair(flags.altPorts, '--alt-ports', 'the command line') };
    origins['webSocket.insecure'] = origins['webSocket.secure'] = 'flag --alt-ports';
  }
  if (flags.browserPort !== undefined) {
    config.webSocket = { ...config.webSocket, browser: parsePort(flags.browserPort, '--browser-port', 'the command line') };
    origins['webSocket.browser'] = 'flag --browser-port';
  }
  if (flags.apiPort !== undefined) {
    config.api = { port: flags.apiPort === 'off' ? false : parsePort(flags.apiPort, '--api-port', 'the command line') };
    origins.api = 'flag --api-port';
  }
  if (flags.flipperPort !== undefined) {
    config.flipperServer = { port: flags.flipperPort === 'off' ? false : parsePort(flags.flipperPort, '--flipper-port', 'the command line') };
    origins.flipperServer = 'flag --flipper-port';
  }
  if (flags.host !== undefined) {
    config.host = parseHosts(flags.host, '--host', 'the command line');
    origins.host = 'flag --host';
  }
  if (flags.certDir !== undefined) {
    config.certDir = resolvePath(flags.certDir, cwd);
    origins.certDir = 'flag --cert-dir';
  }
  if (flags.logLevel !== undefined) {
    config.logLevel = parseLogLevel(flags.logLevel, '--log-level', 'the command line');
    origins.logLevel = 'flag --log-level';
  }
  origins.webSocket = combinedOrigin(WEB_SOCKET_KEYS.map((key) => origins[key]!));
  return { config, origins, file: raw !== undefined ? file : undefined, named: raw !== undefined && explicit !== undefined };
}

async function readConfigFile(file: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HostError('config-invalid', `Cannot read the config file ${file}: ${describeError(error)}.`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HostError('config-invalid', `The config file ${file} is not valid JSON: ${describeJsonSyntaxError(text, error)}.`, { cause: error });
  }
}

function applyFile(config: HostConfig, origins: Record<string, ConfigOrigin>, raw: unknown, file: string): void {
  applyConfigObject(config, origins, raw, { origin: `file ${file}`, where: file, baseDir: dirname(file) });
}

/** Where a config object came from: for error messages, origins, and what relative paths are relative to. */
export interface ConfigObjectSource {
  origin: ConfigOrigin;
  /** How an unknown key's message names the object: the file, or "the options of startHost". */
  where: string;
  baseDir: string;
  /** The smallest port accepted: 1 in files; 0 (any free port) where the caller reads back the bound ports. */
  minPort?: 0 | 1;
}

/**
 * Applies a config-file-shaped object (a parsed file, or startHost's options) onto `config`, checking
 * every key the same way: a problem names the key, where it came from and the expected form.
 */
export function applyConfigObject(config: HostConfig, origins: Record<string, ConfigOrigin>, raw: unknown, source: ConfigObjectSource): void {
  const { origin, baseDir } = source;
  const port = (value: unknown, key: string) => parsePort(value, key, origin, source.minPort ?? 1);
  if (!isObject(raw)) throw configError('config', origin, 'a JSON object', raw);
  // Every key is checked even after one fails, so a file with several mistakes is fixed in one go.
  const problems: HostError[] = [];
  const check = (work: () => void) => {
    try {
      work();
    } catch (error) {
      if (!(error instanceof HostError) || error.kind !== 'config-invalid') throw error;
      problems.push(error);
    }
  };
  for (const key of Object.keys(raw)) {
    if (!(FILE_KEYS as readonly string[]).includes(key)) {
      problems.push(new HostError('config-invalid', `Unknown key "${key}" in ${source.where}. Known keys: ${FILE_KEYS.join(', ')}.`));
    }
  }
  if (raw.host !== undefined) check(() => {
    config.host = parseHosts(raw.host, 'host', origin);
    origins.host = origin;
  });
  if (raw.ports !== undefined) check(() => {
    if (!isObject(raw.ports) || Object.keys(raw.ports).some((k) => k !== 'insecure' && k !== 'secure')) {
      throw configError('ports', origin, '{"insecure": <port>, "secure": <port>}', raw.ports);
    }
    const ports = raw.ports;
    const next = { ...config.ports };
    if (ports.insecure !== undefined) check(() => (next.insecure = port(ports.insecure, 'ports.insecure')));
    if (ports.secure !== undefined) check(() => (next.secure = port(ports.secure, 'ports.secure')));
    config.ports = next;
    origins.ports = origin;
  });
  if (raw.webSocket !== undefined) check(() => {
    const keys = ['insecure', 'secure', 'browser'] as const;
    const webSocket = raw.webSocket;
    if (!isObject(webSocket) || Object.keys(webSocket).some((k) => !(keys as readonly string[]).includes(k))) {
      throw configError('webSocket', origin, '{"insecure": <port or false>, "secure": <port or false>, "browser": <port or false>}', webSocket);
    }
    for (const key of keys) {
      const value = webSocket[key];
      if (value === undefined) continue;
      check(() => {
        config.webSocket[key] = value === false ? false : port(value, `webSocket.${key}`);
        origins[`webSocket.${key}`] = origin;
      });
    }
  });
  if (raw.api !== undefined) check(() => {
    if (!isObject(raw.api) || Object.keys(raw.api).some((k) => k !== 'port')) throw configError('api', origin, '{"port": <port or false>}', raw.api);
    if (raw.api.port !== undefined) config.api = { port: raw.api.port === false ? false : port(raw.api.port, 'api.port') };
    origins.api = origin;
  });
  if (raw.flipperServer !== undefined) check(() => {
    if (!isObject(raw.flipperServer) || Object.keys(raw.flipperServer).some((k) => k !== 'port')) throw configError('flipperServer', origin, '{"port": <port or false>}', raw.flipperServer);
    if (raw.flipperServer.port !== undefined) config.flipperServer = { port: raw.flipperServer.port === false ? false : port(raw.flipperServer.port, 'flipperServer.port') };
    origins.flipperServer = origin;
  });
  if (raw.certDir !== undefined) check(() => {
    if (typeof raw.certDir !== 'string' || raw.certDir === '') throw configError('certDir', origin, 'a folder path', raw.certDir);
    config.certDir = resolvePath(raw.certDir, baseDir);
    origins.certDir = origin;
  });
  if (raw.logLevel !== undefined) check(() => {
    config.logLevel = parseLogLevel(raw.logLevel, 'logLevel', origin);
    origins.logLevel = origin;
  });
  if (raw.plugins !== undefined) check(() => {
    config.plugins = parsePlugins(raw.plugins, config.plugins, origin, baseDir, check);
    origins.plugins = origin;
  });
  if (raw.limits !== undefined) check(() => {
    if (!isObject(raw.limits)) throw configError('limits', origin, 'an object', raw.limits);
    for (const [key, value] of Object.entries(raw.limits)) {
      check(() => {
        if (!(key in config.limits)) throw new HostError('config-invalid', `Unknown key "limits.${key}" in ${source.where}. Known keys: ${Object.keys(config.limits).join(', ')}.`);
        if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw configError(`limits.${key}`, origin, 'a positive whole number', value);
        (config.limits as unknown as Record<string, number>)[key] = value;
      });
    }
    origins.limits = origin;
  });
  if (raw.pluginOptions !== undefined) check(() => {
    if (!isObject(raw.pluginOptions) || Object.values(raw.pluginOptions).some((v) => !isObject(v))) {
      throw configError('pluginOptions', origin, 'an object of objects keyed by plugin id', raw.pluginOptions);
    }
    config.pluginOptions = raw.pluginOptions as HostConfig['pluginOptions'];
    origins.pluginOptions = origin;
  });
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1) {
    throw new HostError('config-invalid', `${problems.length} problems in ${source.where}:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`);
  }
}

/** `check` runs each key's parse and collects its problem, so every bad key is reported. */
function parsePlugins(raw: unknown, defaults: PluginSelection, origin: ConfigOrigin, baseDir: string, check: (work: () => void) => void): PluginSelection {
  if (!isObject(raw)) throw configError('plugins', origin, 'an object', raw);
  const selection: PluginSelection = { ...defaults };
  for (const [key, value] of Object.entries(raw)) {
    check(() => {
      if (key === 'certificateStore' || key === 'exchange') {
        selection[key] = specifier(value, `plugins.${key}`, origin, baseDir);
      } else if ((PLUGIN_LIST_KEYS as readonly string[]).includes(key)) {
        if (!Array.isArray(value)) throw configError(`plugins.${key}`, origin, 'an array of plugin ids or module paths', value);
        selection[key as (typeof PLUGIN_LIST_KEYS)[number]] = value.map((v, i) => specifier(v, `plugins.${key}[${i}]`, origin, baseDir));
      } else {
        throw new HostError('config-invalid', `Unknown key "plugins.${key}" (from ${origin}). Known keys: certificateStore, exchange, ${PLUGIN_LIST_KEYS.join(', ')}.`);
      }
    });
  }
  return selection;
}

/** A built-in id or package name stays as it is; a relative path is made absolute against the config file. */
function specifier(value: unknown, key: string, origin: ConfigOrigin, baseDir: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw configError(key, origin, 'a plugin id, a module path or a package name', value);
  return value.startsWith('./') || value.startsWith('../') || value.startsWith('~/') ? resolvePath(value, baseDir) : value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
