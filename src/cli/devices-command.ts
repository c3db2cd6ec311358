import { parseArgs } from 'node:util';
import { type DeviceReport, DeviceTransport, reportDevices } from '../core/device-transport.js';
import { type LoadedConfig } from '../host/load-host-config.js';
import { ApiAnswerError } from './host-api-client.js';
import { CliFailure, EXIT, connectToHost } from './running-host.js';
import { COMMON_HELP, COMMON_OPTIONS, composeForDiagnostics, createCliLogger, loadConfigFromFlags } from './cli-context.js';

export const DEVICES_HELP = `Usage: sonarhost devices [options]

Lists the devices each configured device transport knows: Android devices (model, API level,
state, whether adb reverse is set up for the host's ports), iOS simulators (name, runtime, state),
iPhones and iPads attached over USB (ready, not paired, locked, …, with what to do) and this
computer, for desktop apps (listed once one of its apps has connected). Only looks; it changes
nothing on the devices.

When a host is running for the certificate folder, the list is the one that host sees (its
transports, the apps connected to it), asked through its API; otherwise this process asks the
configured transports itself (this computer then has no apps). stderr says which it shows.

Options:
  --json               print the list as JSON

${COMMON_HELP}`;

export async function devicesCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } }, strict: true });
  if (values.help) {
    process.stdout.write(DEVICES_HELP + '\n');
    return 0;
  }
  const loaded = await loadConfigFromFlags(values);
  const { config } = loaded;
  const reports = (await devicesOfRunningHost(config.certDir)) ?? (await devicesFromThisProcess(loaded, config));
  process.stdout.write(values.json ? JSON.stringify(reports, null, 2) + '\n' : formatDevices(reports));
  return 0;
}

/** The running host's devices through its API, or undefined (said on stderr) when none runs for the folder. */
async function devicesOfRunningHost(certDir: string): Promise<DeviceReport[] | undefined> {
  let found: Awaited<ReturnType<typeof connectToHost>>;
  try {
    found = await connectToHost(certDir);
  } catch (error) {
    if (!(error instanceof CliFailure) || error.exitCode !== EXIT.notRunning) throw error;
    process.stderr.write(`sonarhost: no host is running for ${certDir}: devices found from this process\n`);
    return undefined;
  }
  const { host, api } = found;
  try {
    const reports = (await api.devices()) as unknown as DeviceReport[];
    process.stderr.write(`sonarhost: devices as the running host (pid ${host.record.pid}) sees them\n`);
    return reports;
  } catch (error) {
    // A host from before the API's devices message answers bad-request: its list cannot be had this way.
    if (!(error instanceof ApiAnswerError) || error.kind !== 'bad-request') throw error;
    process.stderr.write(`sonarhost: the running host (pid ${host.record.pid}) cannot list devices through its API (an older version): devices found from this process\n`);
    return undefined;
  } finally {
    api.close();
  }
}

/** The devices this process's own composition of the configured transports finds (no host's apps). */
async function devicesFromThisProcess(loaded: LoadedConfig, config: LoadedConfig['config']): Promise<DeviceReport[]> {
  const { container } = await composeForDiagnostics('devices', loaded, createCliLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  const transports = container.isBound(DeviceTransport) ? container.getAll<DeviceTransport>(DeviceTransport) : [];
  return reportDevices(transports);
}

export function formatDevices(reports: DeviceReport[]): string {
  if (reports.length === 0) return 'No configured device transport can list devices.\n';
  const lines: string[] = [];
  for (const report of reports) {
    lines.push(`${report.transport}:`);
    if (report.problem) lines.push(`  unavailable: ${report.problem}`);
    else if (report.devices.length === 0) lines.push('  no devices');
    for (const d of report.devices) {
      const details = Object.entries(d.details).map(([k, v]) => `${k}: ${v}`).join(', ');
      lines.push(`  ${d.id.padEnd(24)} ${d.name.padEnd(24)} ${d.state.padEnd(12)} ${details}`);
    }
  }
  return lines.join('\n') + '\n';
}
