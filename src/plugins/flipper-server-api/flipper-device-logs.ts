import { type DeviceLogEntry } from '../../core/device-transport.js';
import { type Disposable } from '../../core/disposable.js';
import { describeError } from '../../core/host-error.js';
import { type Logger } from '../../core/logger.js';
import { type KnownDevice } from './flipper-devices.js';

/**
 * Follows the logs of the devices whose transport can (`followLogs`) while at least one UI is connected,
 * and stops them all when the last UI leaves: nobody pays for `adb logcat` that no one reads.
 */
export class FlipperDeviceLogs implements Disposable {
  private readonly following = new Map<string, Disposable>();
  private active = false;

  constructor(
    private readonly devices: () => KnownDevice[],
    private readonly emit: (serial: string, entry: DeviceLogEntry) => void,
    private readonly log: Logger,
  ) {}

  get followedSerials(): string[] {
    return [...this.following.keys()];
  }

  /** Called with the number of UI sockets whenever it changes. */
  setActive(active: boolean): void {
    if (active === this.active) return;
    this.active = active;
    if (active) for (const device of this.devices()) this.deviceAdded(device);
    else this.dispose();
  }

  deviceAdded(device: KnownDevice): void {
    const serial = device.description.serial;
    const source = device.source;
    if (!this.active || this.following.has(serial) || !source?.transport.followLogs) return;
    let stop: Disposable | undefined;
    let ended = false;
    try {
      stop = source.transport.followLogs(
        source.deviceId,
        (entry) => this.emit(serial, entry),
        (error) => {
          ended = true;
          if (stop !== undefined && this.following.get(serial) === stop) this.following.delete(serial);
          if (error) this.log.debug('a device log ended', { serial, error: describeError(error) });
        },
      );
      if (!ended) this.following.set(serial, stop);
    } catch (error) {
      this.log.debug('could not follow a device log', { serial, error: describeError(error) });
    }
  }

  deviceRemoved(serial: string): void {
    const stop = this.following.get(serial);
    this.following.delete(serial);
    void stop?.dispose();
  }

  dispose(): void {
    for (const serial of [...this.following.keys()]) this.deviceRemoved(serial);
  }
}
