import { type AppSession } from '../../core/app-session.js';
import { type DeviceTransport } from '../../core/device-transport.js';
import { describeError } from '../../core/host-error.js';
import { type Logger } from '../../core/logger.js';
import { withTimeout } from '../../core/timeout.js';
import { type DeviceDescription, describeDevice, deviceOfClient, isUsable, serialOf } from './flipper-descriptions.js';

const LIST_TIMEOUT_MS = 10_000;

export interface KnownDevice {
  description: DeviceDescription;
  /** The transport that listed it and its own id for it; absent for devices made up for a client. */
  source?: { transport: DeviceTransport; deviceId: string };
  /** Client ids filed under it. */
  clients: Set<string>;
}

export type DeviceChange = { kind: 'connected' | 'disconnected'; device: KnownDevice };

/**
 * The devices Flipper's UI is told about: every usable device the transports list, plus a made-up one
 * for a client whose device no transport listed, which leaves with its last client. A device is always
 * announced before the first client filed under it (the UI drops clients of unknown devices).
 */
export class FlipperDevices {
  private readonly devices = new Map<string, KnownDevice>();
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly transports: readonly DeviceTransport[],
    private readonly log: Logger,
    private readonly onChange: (change: DeviceChange) => void,
  ) {}

  list(): KnownDevice[] {
    return [...this.devices.values()];
  }

  find(serial: string): KnownDevice | undefined {
    return this.devices.get(serial);
  }

  /** Re-lists the devices of one transport (or all), announcing those that came and went. Never throws. */
  refresh(transportId?: string): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.refreshNow(transportId));
    return this.refreshing;
  }

  clientConnected(session: AppSession): void {
    const serial = serialOf(session);
    let device = this.devices.get(serial);
    if (!device) {
      device = { description: deviceOfClient(session), clients: new Set() };
      this.devices.set(serial, device);
      this.onChange({ kind: 'connected', device });
    }
    device.clients.add(session.id);
  }

  clientDisconnected(clientId: string): void {
    for (const [serial, device] of this.devices) {
      if (!device.clients.delete(clientId)) continue;
      if (device.source === undefined && device.clients.size === 0) this.remove(serial);
    }
  }

  private async refreshNow(transportId: string | undefined): Promise<void> {
    for (const transport of this.transports) {
      if (!transport.listDevices || (transportId !== undefined && transport.id !== transportId)) continue;
      let listed;
      try {
        listed = (await withTimeout(transport.listDevices(), LIST_TIMEOUT_MS, `listing the ${transport.id} devices`)).filter(isUsable);
      } catch (error) {
        this.log.debug('could not list devices for the Flipper UI', { transport: transport.id, error: describeError(error) });
        continue; // keep what it listed before rather than announce every device gone
      }
      const seen = new Set<string>();
      for (const summary of listed) {
        const description = describeDevice(summary, transport.takeScreenshot !== undefined);
        seen.add(description.serial);
        const known = this.devices.get(description.serial);
        if (known) {
          // A client's made-up device becomes the real one, without telling the UI twice.
          known.source = { transport, deviceId: summary.id };
          known.description = { ...description, deviceType: known.description.deviceType === 'dummy' ? 'dummy' : description.deviceType };
          continue;
        }
        const device: KnownDevice = { description, source: { transport, deviceId: summary.id }, clients: new Set() };
        this.devices.set(description.serial, device);
        this.onChange({ kind: 'connected', device });
      }
      for (const [serial, device] of this.devices) {
        if (device.source?.transport !== transport || seen.has(serial)) continue;
        if (device.clients.size > 0) device.source = undefined; // gone from the transport, still in use by its apps
        else this.remove(serial);
      }
    }
  }

  private remove(serial: string): void {
    const device = this.devices.get(serial);
    if (!device) return;
    this.devices.delete(serial);
    this.onChange({ kind: 'disconnected', device });
  }
}
