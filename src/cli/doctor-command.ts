import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { CertificateStore } from '../core/certificate-store.js';
import { DeviceTransport } from '../core/device-transport.js';
import { type HealthCheck } from '../core/health-check.js';
import { type HostConfig } from '../core/host-config.js';
import { type LoadedConfig } from '../host/load-host-config.js';
import { describeError } from '../core/host-error.js';
import { type RunningHost, findRunningHost } from './doctor-running-host.js';
import { COMMON_HELP, COMMON_OPTIONS, composeForDiagnostics, createCliLogger, loadConfigFromFlags } from './cli-context.js';

export const DOCTOR_HELP = `Usage: sonarhost doctor [options]

Checks, without changing anything: that the ports are free (or held by a sonarhost that is
already running, found through its API), the certificate folder and the expiry of its
certificates, adb and its server, the iOS simulator folder. Each line says ok,
warn or fail, and how to fix what is not ok. Exits 1 when something fails.

Options:
  --json               print the checks as JSON

${COMMON_HELP}`;

export async function doctorCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } }, strict: true });
  if (values.help) {
    process.stdout.write(DOCTOR_HELP + '\n');
    return 0;
  }
  const loaded = await loadConfigFromFlags(values);
  const checks = await doctorChecks(loaded);
  process.stdout.write(values.json ? JSON.stringify(checks, null, 2) + '\n' : formatChecks(checks));
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

/**
 * Every check of `sonarhost doctor`, read-only: the ports (or the sonarhost holding them), the
 * certificates, each device transport. Plugin modules named by a config found only in the working
 * folder are not imported (composeForDiagnostics): looking must never run code from a cloned folder.
 */
export async function doctorChecks(loaded: LoadedConfig, stderr: NodeJS.WritableStream = process.stderr): Promise<HealthCheck[]> {
  const { config } = loaded;
  const { container, skipped } = await composeForDiagnostics('doctor', loaded, createCliLogger('error'), stderr);
  const checks: HealthCheck[] = [...(await portChecks(config))];
  if (skipped.length > 0) {
    checks.push({
      name: 'plugins',
      status: 'warn',
      detail: `not checked: ${skipped.map((s) => s.specifier).join(', ')} (named by ${loaded.file}, found in the working folder; doctor does not run code it finds there)`,
      fix: `if these are yours, run doctor with --config ${loaded.file}`,
    });
  }
  const store = container.get<CertificateStore>(CertificateStore);
  checks.push(...(await safely('certificates', () => store.check?.() ?? Promise.resolve([]))));
  const transports = container.isBound(DeviceTransport) ? container.getAll<DeviceTransport>(DeviceTransport) : [];
  for (const transport of transports) checks.push(...(await safely(transport.id, () => transport.check?.() ?? Promise.resolve([]))));
  return checks;
}

export function formatChecks(checks: HealthCheck[]): string {
  return (
    checks
      .map((c) => `${c.status.padEnd(4)}  ${c.name}: ${c.detail}${c.status !== 'ok' && c.fix ? `\n      fix: ${c.fix}` : ''}`)
      .join('\n') + '\n'
  );
}

async function safely(name: string, run: () => Promise<HealthCheck[]>): Promise<HealthCheck[]> {
  try {
    return await run();
  } catch (error) {
    return [{ name, status: 'fail', detail: `the check itself failed: ${describeError(error)}` }];
  }
}

interface PortToCheck {
  name: string;
  port: number;
  hosts: string[];
  /** The flag, variable and config key that move this port. */
  move: string;
}

function portsToCheck(config: HostConfig): PortToCheck[] {
  const rsocket = 'with --ports INSECURE,SECURE (or FLIPPER_PORTS, or "ports" in the config file)';
  const webSocket = (key: string) => `with --alt-ports INSECURE,SECURE (or FLIPPER_ALT_PORTS, or "webSocket.${key}" in the config file; false turns it off)`;
  const ports: PortToCheck[] = [
    { name: 'RSocket insecure', port: config.ports.insecure, hosts: config.host, move: rsocket },
    { name: 'RSocket secure', port: config.ports.secure, hosts: config.host, move: rsocket },
  ];
  const ws = config.webSocket;
  if (ws.insecure !== false) ports.push({ name: 'WebSocket insecure', port: ws.insecure, hosts: config.host, move: webSocket('insecure') });
  if (ws.secure !== false) ports.push({ name: 'WebSocket secure', port: ws.secure, hosts: config.host, move: webSocket('secure') });
  if (ws.browser !== false) {
    ports.push({ name: 'WebSocket browser', port: ws.browser, hosts: config.host, move: 'with --browser-port PORT (or FLIPPER_BROWSER_PORT, or "webSocket.browser" in the config file; false turns it off)' });
  }
  if (config.api.port !== false && config.plugins.services.includes('http-api')) {
    // The API listens on IPv4 loopback only, whatever the bind addresses.
    ports.push({ name: 'HTTP API', port: config.api.port, hosts: ['127.0.0.1'], move: 'with --api-port PORT or --api-port off (or SONARHOST_API_PORT, or "api.port" in the config file)' });
  }
  if (config.flipperServer.port !== false && config.plugins.services.includes('flipper-server-api')) {
    // Like flipper-server, on both loopback addresses whatever the bind addresses.
    const move = 'with --flipper-port PORT or --flipper-port off (or SONARHOST_FLIPPER_PORT, or "flipperServer.port" in the config file)';
    ports.push({ name: "Flipper's UI API", port: config.flipperServer.port, hosts: ['127.0.0.1', '::1'], move });
  }
  return ports;
}

/**
 * One line per port and address, except when a sonarhost already answers on its API: the ports it holds
 * are then reported once, as its own, instead of as conflicts.
 */
async function portChecks(config: HostConfig): Promise<HealthCheck[]> {
  const running = await findRunningHost(config);
  const checks: HealthCheck[] = [];
  const busy: string[] = [];
  for (const { name, port, hosts, move } of portsToCheck(config)) {
    for (const host of hosts) {
      const problem = await tryListen(port, host);
      if (problem === 'in use' && running) {
        if (!busy.includes(String(port))) busy.push(String(port));
        continue;
      }
      checks.push(
        problem === undefined
          ? { name: `port ${port} (${name})`, status: 'ok', detail: `free on ${host}` }
          : problem === 'unavailable'
            ? { name: `port ${port} (${name})`, status: 'warn', detail: `${host} does not exist on this machine`, fix: 'sonarhost serves the other addresses; or choose --host' }
            : { name: `port ${port} (${name})`, status: 'fail', detail: `${problem} on ${host}`, fix: `stop the program using it, or move sonarhost's ${name} port ${move}` },
      );
    }
  }
  if (running) checks.unshift(...runningHostChecks(running, busy));
  return checks;
}

function runningHostChecks(running: RunningHost, busy: string[]): HealthCheck[] {
  const facts = [
    running.pid !== undefined ? `pid ${running.pid}` : undefined,
    running.version !== undefined ? `version ${running.version}` : undefined,
    running.startedAt !== undefined ? `since ${running.startedAt}` : undefined,
    running.clients !== undefined ? `${running.clients} client${running.clients === 1 ? '' : 's'}` : undefined,
  ].filter((f) => f !== undefined);
  const second = 'to run another host beside it, give it other ports: --ports, --alt-ports, --browser-port, --api-port, --flipper-port (or FLIPPER_PORTS, FLIPPER_ALT_PORTS, FLIPPER_BROWSER_PORT, SONARHOST_API_PORT, SONARHOST_FLIPPER_PORT)';
  const checks: HealthCheck[] = running.sameCertDir
    ? [{ name: 'sonarhost', status: 'ok', detail: `already running${facts.length > 0 ? ` (${facts.join(', ')})` : ''}, API at ${running.url}/`, fix: second }]
    : [
        {
          name: 'sonarhost',
          status: 'fail',
          detail: `a server at ${running.url}/ answers like sonarhost but cannot prove it holds the token of this certificate folder: another sonarhost with another folder, or a program posing as one (it was sent nothing secret)`,
          fix: `stop it, or point at its folder with --cert-dir; or ${second}`,
        },
      ];
  if (busy.length > 0) {
    checks.push({ name: `ports ${busy.join(', ')}`, status: running.sameCertDir ? 'ok' : 'fail', detail: 'in use by that sonarhost', fix: second });
  }
  return checks;
}

function tryListen(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') resolve('unavailable');
      else resolve(error.code === 'EADDRINUSE' ? 'in use' : describeError(error));
    });
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}
