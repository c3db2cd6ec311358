import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { API_TOKEN_FILE } from '../core/access-token.js';
import { startConfiguredHost } from '../host/start-host.js';
import { COMMON_HELP, COMMON_OPTIONS, configFolder, createCliLogger, loadConfigFromFlags } from './cli-context.js';
import { CLI_ENTRY_ENV } from './start-entry.js';

export const START_HELP = `Usage: sonarhost [start] [options]

Starts the host: prepares the certificate authority, then the device platforms and the
app-facing servers chosen in the config. Stops cleanly on Ctrl-C (SIGINT) or SIGTERM;
a second signal forces the exit.

${COMMON_HELP}`;

export async function startCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: COMMON_OPTIONS, strict: true });
  if (values.help) {
    process.stdout.write(START_HELP + '\n');
    return 0;
  }
  const { config, file } = await loadConfigFromFlags(values);
  const logger = createCliLogger(config.logLevel);
  const log = logger.child('cli');
  if (file) log.info('using config file', { file });
  const host = await startConfiguredHost(config, {
    logger,
    configDir: configFolder(file),
    // Starting runs the plugins the config names; the log says which files, before each one runs.
    beforeImport: (module) => log.info('loading a plugin module', { ...module, config: file }),
  });
  log.info('plugins', { plugins: host.plugins.map((p) => `${p.kind}:${p.id}`) });
  const report = host.certificates;
  log.info('certificate authority ready', {
    certDir: report.location,
    ca: report.ca.sha256Fingerprint,
    caExpires: report.ca.notAfter.toISOString(),
    serverExpires: report.server.notAfter.toISOString(),
  });
  log.info('sonarhost is running; press Ctrl-C to stop', { ports: config.ports, webSocket: config.webSocket, host: config.host, build: process.env[CLI_ENTRY_ENV] });
  const flipperPort = config.plugins.services.includes('flipper-server-api') ? config.flipperServer.port : false;
  if ((config.api.port !== false || flipperPort !== false) && process.stderr.isTTY) {
    // The token is a secret: shown on a terminal, never written into (possibly collected) JSON logs.
    const token = (await readFile(join(config.certDir, API_TOKEN_FILE), 'utf8').catch(() => '')).trim();
    const lines = [
      config.api.port !== false ? `  Dashboard:   http://127.0.0.1:${config.api.port}/#token=${token}` : undefined,
      flipperPort !== false ? `  Flipper UI:  http://localhost:${flipperPort}/?token=${token}` : undefined,
    ].filter((line) => line !== undefined);
    if (token) process.stderr.write(`\n${lines.join('\n')}\n\n`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn('second signal: exiting without waiting', { signal });
        process.exit(130);
      }
      stopping = true;
      log.info('stopping', { signal });
      host.stop().then(
        () => {
          log.info('stopped');
          resolve(0);
        },
        (error: unknown) => {
          log.error('stopped with errors', { error: String(error) });
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
