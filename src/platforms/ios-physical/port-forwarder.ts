import { type Logger } from '../../core/logger.js';
import { describeError } from '../../core/host-error.js';
import { PeertalkChannel } from './peertalk-channel.js';
import { type UsbmuxDevice, connectToDevice } from './usbmux-client.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, type UsbmuxAddress } from './usbmux-address.js';

/** A FlipperKit channel port on the phone and the host port its pipes lead to. */
export interface ForwardedPort {
  devicePort: number;
  hostPort: number;
}

/** Flipper's Mac helper dialled each channel port once a second until the app listened. */
const RETRY_MS = 1_000;

/**
 * The port forwarder for one attached device: for each channel port, dial it through usbmux Connect
 * (again every second while nothing listens, and again after a channel ends: the app restarted) and
 * bridge the channel's pipes to the host's own port. `stop` closes every channel and pipe.
 */
export class PortForwarder {
  private stopped = false;
  private readonly channels = new Map<number, PeertalkChannel>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Wakes the loops sleeping between attempts, so stop does not wait out a retry delay. */
  private readonly wakers = new Set<() => void>();
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly address: UsbmuxAddress,
    private readonly device: UsbmuxDevice,
    private readonly ports: readonly ForwardedPort[],
    private readonly hostAddress: string,
    private readonly log: Logger,
    /** The deadline of each usbmux Connect. */
    private readonly timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {}

  start(): void {
    for (const port of this.ports) this.loops.push(this.run(port));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const wake of this.wakers) wake();
    for (const channel of this.channels.values()) channel.close();
    await Promise.all(this.loops);
  }

  /** e.g. `8079→8089 connected, 8078→8088 waiting`. */
  describe(): string {
    return this.ports.map((p) => `${p.devicePort}→${p.hostPort} ${this.channels.has(p.devicePort) ? 'connected' : 'waiting'}`).join(', ');
  }

  private async run(port: ForwardedPort): Promise<void> {
    let lastProblem: string | undefined;
    while (!this.stopped) {
      try {
        const result = await connectToDevice(this.address, this.device.deviceId, port.devicePort, this.timeoutMs);
        if ('socket' in result) {
          if (this.stopped) {
            result.socket.destroy();
            return;
          }
          lastProblem = undefined;
          const channel = new PeertalkChannel(result.socket, { host: this.hostAddress, port: port.hostPort }, this.log.child('peertalk', { deviceId: this.device.udid, devicePort: port.devicePort }));
          this.channels.set(port.devicePort, channel);
          this.log.info('forwarding the app\'s connections from the device', { deviceId: this.device.udid, devicePort: port.devicePort, hostPort: port.hostPort });
          await channel.closed;
          this.channels.delete(port.devicePort);
          this.log.debug('Peertalk channel closed', { deviceId: this.device.udid, devicePort: port.devicePort });
        }
      } catch (error) {
        const problem = describeError(error);
        if (problem !== lastProblem) this.log.debug('cannot open a Peertalk channel yet', { deviceId: this.device.udid, devicePort: port.devicePort, error: problem });
        lastProblem = problem;
      }
      await this.pause();
    }
  }

  private pause(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, RETRY_MS);
      this.timers.add(timer);
      this.wakers.add(wake);
    });
  }
}
