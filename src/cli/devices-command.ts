import { parseArgs } from 'node:util';
import { DeviceTransport, type DeviceSummary } from '../core/device-transport.js';
import { describeError } from '../core/host-error.js';
import { COMMON_HELP, COMMON_OPTIONS, composeForDiagnostics, createCliLogger, loadConfigFromFlags } from './cli-context.js';

export const DEVICES_HELP = `Usage: sonarhost devices [options]

Lists the devices each configured device transport knows: Android devices (model, API level,
state, whether adb reverse is set up for the host's ports), iOS simulators (name, runtime, state),
iPhones and iPads attached over USB (ready, not paired, locked, …, with what to do) and this
computer, for desktop apps (listed once one of its apps has connected). Only looks; it changes
nothing on the devices.

Options:
  --json               print the list as JSON

${COMMON_HELP}`;

interface TransportReport {
  transport: string;
  devices: DeviceSummary[];
  problem?: string;
}

export async function devicesCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } }, strict: true });
  if (values.help) {
    process.stdout.write(DEVICES_HELP + '\n');
    return 0;
  }
  const loaded = await loadConfigFromFlags(values);
  const { config } = loaded;
  const { container } = await composeForDiagnostics('devices', loaded, createCliLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  const transports = container.isBound(DeviceTransport) ? container.getAll<DeviceTransport>(DeviceTransport) : [];
  const reports: TransportReport[] = await Promise.all(
    transports
      .filter((t) => t.listDevices !== undefined)
      .map(async (t) => {
        try {
          return { transport: t.id, devices: await t.listDevices!() };
        } catch (error) {
          return { transport: t.id, devices: [], problem: describeError(error) };
        }
      }),
  );
  process.stdout.write(values.json ? JSON.stringify(reports, null, 2) + '\n' : formatDevices(reports));
  return 0;
}

export function formatDevices(reports: TransportReport[]): string {
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
