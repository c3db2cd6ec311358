import { inject, injectable } from 'inversify';
import { type Disposable, toDisposable } from '../../core/disposable.js';
import { HostConfig } from '../../core/host-config.js';
import { describeError } from '../../core/host-error.js';
import { HostEvents } from '../../core/host-events.js';
import { type HostService } from '../../core/host-service.js';
import { Logger } from '../../core/logger.js';
import { type ForwardedPort, PortForwarder } from './port-forwarder.js';
import { type UsbmuxDevice, type UsbmuxConnection, UsbmuxdUnreachable, listen } from './usbmux-client.js';
import { IOS_PHYSICAL_ID, describeUsbmuxAddress, iosPhysicalOptions, requestTimeoutMs, usbmuxAddress } from './usbmux-address.js';

const MAX_BACKOFF_MS = 10_000;
/** More attached devices than any desk holds: a usbmuxd announcing more is not believed (each would get a forwarder). */
const MAX_ATTACHED = 64;

/** FlipperKit's channel ports on the phone, and which of the host's ports each one carries. */
export function forwardedPorts(config: HostConfig): ForwardedPort[] {
  const pairs: Array<[number, number | false]> = [
    [8079, config.ports.insecure],
    [8078, config.ports.secure],
    [9079, config.webSocket.insecure],
    [9078, config.webSocket.secure],
  ];
  return pairs.filter((p): p is [number, number] => typeof p[1] === 'number' && p[1] > 0).map(([devicePort, hostPort]) => ({ devicePort, hostPort }));
}

/** Where the forwarder reaches the host's own listeners: the first configured address, wildcards as loopback. */
export function localHostAddress(config: HostConfig): string {
  const first = config.host[0] ?? '127.0.0.1';
  if (first === '0.0.0.0') return '127.0.0.1';
  if (first === '::') return '::1';
  return first;
}

/**
 * Follows iPhones and iPads attaching and detaching (usbmux Listen) for as long as the host runs and
 * runs a Peertalk port forwarder for each one attached over USB, stopped when it detaches. Survives
 * usbmuxd restarts (retry with backoff, one log line per outage); when usbmuxd is not there, physical
 * iOS support is idle and says why once. Following starts in the background: start-up never waits for
 * usbmuxd, which any local user may impersonate (a TCP USBMUXD_SOCKET_ADDRESS) and which may never answer.
 */
@injectable()
export class IosPhysicalDevices implements HostService {
  readonly id = 'ios-physical-devices';
  readonly phase = 'platforms' as const;
  private readonly log: Logger;
  private readonly attached = new Map<number, { device: UsbmuxDevice; forwarder?: PortForwarder }>();
  private warnedFull = false;

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(HostEvents) private readonly events: HostEvents,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child(IOS_PHYSICAL_ID);
  }

  /** The forwarder's state for a device, for `sonarhost devices` and the API. */
  forwardingOf(udid: string): string | undefined {
    for (const { device, forwarder } of this.attached.values()) if (device.udid === udid && forwarder) return forwarder.describe();
    return undefined;
  }

  async start(): Promise<Disposable> {
    const address = usbmuxAddress(this.config);
    const timeoutMs = requestTimeoutMs(this.config);
    const forward = iosPhysicalOptions(this.config).forwardPorts !== false;
    let stopped = false;
    let connection: UsbmuxConnection | undefined;
    let retry: NodeJS.Timeout | undefined;
    let backoff = 500;
    let outage = false;
    let everReached = false;
    const stopping = new AbortController();

    const follow = async () => {
      retry = undefined;
      if (stopped) return;
      let closed: Promise<void>;
      try {
        ({ connection, closed } = await listen(address, { onAttached: (d) => this.attach(d, forward, timeoutMs), onDetached: (id) => void this.detach(id, 'detached') }, timeoutMs, stopping.signal));
      } catch (error) {
        lost(error instanceof UsbmuxdUnreachable ? error.brief : describeError(error), describeError(error));
        return;
      }
      if (stopped) {
        connection.close();
        return;
      }
      if (outage) this.log.info('usbmuxd is reachable again');
      outage = false;
      everReached = true;
      const since = performance.now();
      void closed.then(() => {
        // Only a connection that lasted resets the backoff: one that a usbmuxd drops at once (or that
        // sonarhost drops for its junk) is retried ever more slowly.
        if (performance.now() - since > MAX_BACKOFF_MS) backoff = 500;
        if (!stopped) lost('usbmuxd closed the connection');
      });
    };
    const lost = (why: string, detail = why) => {
      for (const id of [...this.attached.keys()]) this.detach(id, 'usbmuxd lost');
      // Most hosts serve no iPhone: a usbmuxd that was never there is a debug line (doctor gives the
      // advice, devices and the dashboard the one-line state); one that went away is a problem.
      if (!outage) {
        if (everReached) this.log.warn(`physical iPhones and iPads are not followed: ${why}; retrying until usbmuxd is reachable at ${describeUsbmuxAddress(address)}`);
        else this.log.debug(`physical iPhones and iPads are not followed: ${detail}; retrying until usbmuxd is reachable at ${describeUsbmuxAddress(address)}`);
      }
      outage = true;
      if (retry || stopped) return;
      retry = setTimeout(() => void follow(), backoff);
      retry.unref();
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    };
    void follow();
    return toDisposable(async () => {
      stopped = true;
      stopping.abort();
      clearTimeout(retry);
      connection?.close();
      await Promise.all([...this.attached.keys()].map((id) => this.detach(id, 'host stopping')));
    });
  }

  private attach(device: UsbmuxDevice, forward: boolean, timeoutMs: number): void {
    if (device.connectionType !== 'USB' || this.attached.has(device.deviceId)) return;
    if (this.attached.size >= MAX_ATTACHED) {
      if (!this.warnedFull) this.log.warn(`usbmuxd reports more than ${MAX_ATTACHED} attached devices; the others are ignored`, { deviceId: device.udid });
      this.warnedFull = true;
      return;
    }
    const forwarder = forward ? new PortForwarder(usbmuxAddress(this.config), device, forwardedPorts(this.config), localHostAddress(this.config), this.log, timeoutMs) : undefined;
    this.attached.set(device.deviceId, { device, forwarder });
    forwarder?.start();
    this.log.info('iOS device attached', { deviceId: device.udid, forwarding: forwarder?.describe() });
    this.events.emit({ type: 'device', at: new Date().toISOString(), transport: IOS_PHYSICAL_ID, deviceId: device.udid, state: 'attached' });
  }

  private async detach(deviceId: number, why: string): Promise<void> {
    const entry = this.attached.get(deviceId);
    if (!entry) return;
    this.attached.delete(deviceId);
    this.log.info('iOS device gone', { deviceId: entry.device.udid, why });
    this.events.emit({ type: 'device', at: new Date().toISOString(), transport: IOS_PHYSICAL_ID, deviceId: entry.device.udid, state: 'gone' });
    await entry.forwarder?.stop();
  }
}
