import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { CertificateStore } from '../core/certificate-store.js';
import { DeviceTransport } from '../core/device-transport.js';
import { type HealthCheck } from '../core/health-check.js';
import { type HostConfig } from '../core/host-config.js';
import { describeError } from '../core/host-error.js';
import { createHostContainer } from '../host/create-host-container.js';
import { COMMON_HELP, COMMON_OPTIONS, configFolder, createCliLogger, loadConfigFromFlags } from './cli-context.js';

export const DOCTOR_HELP = `Usage: sonarhost doctor [options]

Checks, without changing anything: that the ports are free, the certificate folder and the
expiry of its certificates, adb and its server, the iOS simulator folder. Each line says ok,
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
  const { config, file } = await loadConfigFromFlags(values);
  const { container } = await createHostContainer(config, { logger: createCliLogger('error'), configDir: configFolder(file) });
  const checks: HealthCheck[] = [...(await portChecks(config))];
  const store = container.get<CertificateStore>(CertificateStore);
  checks.push(...(await safely('certificates', () => store.check?.() ?? Promise.resolve([]))));
  const transports = container.isBound(DeviceTransport) ? container.getAll<DeviceTransport>(DeviceTransport) : [];
  for (const transport of transports) checks.push(...(await safely(transport.id, () => transport.check?.() ?? Promise.resolve([]))));
  process.stdout.write(values.json ? JSON.stringify(checks, null, 2) + '\n' : formatChecks(checks));
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
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

async function portChecks(config: HostConfig): Promise<HealthCheck[]> {
  const ports: Array<[string, number, string]> = [
    ['RSocket insecure', config.ports.insecure, 'FLIPPER_PORTS or --ports'],
    ['RSocket secure', config.ports.secure, 'FLIPPER_PORTS or --ports'],
  ];
  const ws = config.webSocket;
  if (ws.insecure !== false) ports.push(['WebSocket insecure', ws.insecure, 'FLIPPER_ALT_PORTS or --alt-ports']);
  if (ws.secure !== false) ports.push(['WebSocket secure', ws.secure, 'FLIPPER_ALT_PORTS or --alt-ports']);
  if (ws.browser !== false) ports.push(['WebSocket browser', ws.browser, 'FLIPPER_BROWSER_PORT or --browser-port']);
  const checks: HealthCheck[] = [];
  for (const [name, port, move] of ports) {
    for (const host of config.host) {
      const problem = await tryListen(port, host);
      checks.push(
        problem === undefined
          ? { name: `port ${port} (${name})`, status: 'ok', detail: `free on ${host}` }
          : problem === 'unavailable'
            ? { name: `port ${port} (${name})`, status: 'warn', detail: `${host} does not exist on this machine`, fix: 'sonarhost serves the other addresses; or choose --host' }
            : { name: `port ${port} (${name})`, status: 'fail', detail: `${problem} on ${host}`, fix: `stop the program using it, or move sonarhost with ${move}` },
      );
    }
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
