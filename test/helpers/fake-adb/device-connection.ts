// One TCP connection from an adb server to the fake device, seen from the device (adbd's side):
// the CNXN/AUTH handshake, then stream multiplexing. Streams the server opens become services (the
// owner decides which); streams the device opens (`openChannel`) are how an app on the device reaches
// the host through `adb reverse`.

import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import { AdbChannel, type ChannelTransport } from './adb-channel.js';
import {
  A_AUTH, A_CLSE, A_CNXN, A_OKAY, A_OPEN, A_VERSION, A_WRTE, AUTH_RSAPUBLICKEY, AUTH_SIGNATURE, AUTH_TOKEN,
  type AdbMessage, MessageDecoder, commandName, encodeMessage,
} from './adb-message.js';

/** The payload size the fake device announces in its CNXN (what adbd announced before Android 9). */
export const DEVICE_MAX_PAYLOAD = 256 * 1024;

/** Runs a service on an accepted stream; the stream is closed by the service (or by the peer). */
export type ServiceRunner = (channel: AdbChannel) => Promise<void>;

/** What the connection asks of the device that owns it. */
export interface ConnectionOwner {
  /** `device::ro.product.name=…;…;features=…` */
  banner(): string;
  /** False while the device is in "unauthorized" mode: it then re-challenges every AUTH signature. */
  isAuthorized(): boolean;
  /** A runner for `service`, or undefined to refuse the stream (adbd answers CLSE). */
  serviceFor(service: string, connection: DeviceConnection): ServiceRunner | undefined;
  /** The adb server offered its public key (what makes a phone show the "Allow USB debugging?" prompt). */
  publicKeyOffered(key: string): void;
  connectionClosed(connection: DeviceConnection): void;
  debug(message: string): void;
}

export type ConnectionState = 'handshake' | 'auth' | 'online' | 'closed';

interface PendingOpen {
  channel: AdbChannel;
  resolve: (channel: AdbChannel) => void;
  reject: (error: Error) => void;
}

export class DeviceConnection implements ChannelTransport {
  state: ConnectionState = 'handshake';
  maxPayload = DEVICE_MAX_PAYLOAD;
  /** The adb server's CNXN banner, e.g. `host::features=shell_v2,cmd,…`. */
  hostBanner = '';

  private readonly decoder = new MessageDecoder(1024 * 1024 + 64);
  private readonly channels = new Map<number, AdbChannel>();
  private readonly pendingOpens = new Map<number, PendingOpen>();
  private nextLocalId = 1;

  constructor(
    private readonly socket: net.Socket,
    private readonly owner: ConnectionOwner,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let messages: AdbMessage[];
      try {
        messages = this.decoder.push(chunk);
      } catch (error) {
        this.owner.debug(`dropping connection: ${(error as Error).message}`);
        this.destroy();
        return;
      }
      for (const message of messages) this.handle(message);
    });
    socket.on('error', () => undefined); // 'close' follows and does the cleanup
    socket.on('close', () => this.closed(new Error('ADB transport connection lost')));
  }

  send(command: number, arg0: number, arg1: number, data: Buffer = Buffer.alloc(0)): void {
    if (this.state === 'closed') return;
    this.owner.debug(`-> ${commandName(command)} ${arg0} ${arg1} ${data.length}B${command === A_WRTE ? '' : ` ${printable(data)}`}`);
    this.socket.write(encodeMessage({ command, arg0, arg1, data }));
  }

  forget(channel: AdbChannel): void {
    this.channels.delete(channel.localId);
  }

  /** Sends the device's CNXN now (used when an "unauthorized" device gets authorized). */
  authorize(): void {
    if (this.state === 'auth') this.sendConnect();
  }

  /**
   * Opens a stream from the device to `destination` on the host (e.g. `tcp:8089`), as adbd does for a
   * connection accepted on a reversed port. Rejects when the adb server refuses (answers CLSE).
   */
  openChannel(destination: string): Promise<AdbChannel> {
    if (this.state !== 'online') return Promise.reject(new Error('the ADB transport is not online'));
    const channel = new AdbChannel(this, this.nextLocalId++, 0);
    return new Promise<AdbChannel>((resolve, reject) => {
      this.pendingOpens.set(channel.localId, { channel, resolve, reject });
      this.send(A_OPEN, channel.localId, 0, Buffer.from(`${destination}\0`, 'utf8'));
    });
  }

  /** Drops the TCP connection abruptly (no CLSE to anyone), as a phone pulled off the cable. */
  destroy(): void {
    this.socket.destroy();
    this.closed(new Error('ADB transport connection lost'));
  }

  private closed(error: Error): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const pending of this.pendingOpens.values()) pending.reject(error);
    this.pendingOpens.clear();
    for (const channel of [...this.channels.values()]) channel.handleClose(error);
    this.channels.clear();
    this.owner.connectionClosed(this);
  }

  private sendConnect(): void {
    this.state = 'online';
    this.send(A_CNXN, A_VERSION, DEVICE_MAX_PAYLOAD, Buffer.from(this.owner.banner(), 'utf8'));
  }

  private sendAuthToken(): void {
    this.state = 'auth';
    this.send(A_AUTH, AUTH_TOKEN, 0, randomBytes(20));
  }

  private handle(message: AdbMessage): void {
    const { command, arg0, arg1, data } = message;
    this.owner.debug(`<- ${commandName(command)} ${arg0} ${arg1} ${data.length}B${command === A_WRTE ? '' : ` ${printable(data)}`}`);
    switch (command) {
      case A_CNXN:
        // Both sides may send at most the smaller maxdata; the server announced its own in arg1.
        this.maxPayload = Math.min(DEVICE_MAX_PAYLOAD, arg1 || DEVICE_MAX_PAYLOAD);
        this.hostBanner = data.toString('utf8').replace(/\0+$/, '');
        if (this.owner.isAuthorized()) this.sendConnect();
        else this.sendAuthToken();
        return;
      case A_AUTH:
        if (this.state === 'online') return;
        if (arg0 === AUTH_SIGNATURE) {
          // A real device would verify the signature against its adb_keys; an unauthorized one never
          // matches, so it challenges again and the server moves on to offering its public key.
          if (this.owner.isAuthorized()) this.sendConnect();
          else this.sendAuthToken();
        } else if (arg0 === AUTH_RSAPUBLICKEY) {
          this.owner.publicKeyOffered(data.toString('utf8').replace(/\0+$/, ''));
          if (this.owner.isAuthorized()) this.sendConnect();
        }
        return;
      case A_OPEN:
        this.handleOpen(arg0, data.toString('utf8').replace(/\0+$/, ''));
        return;
      case A_OKAY: {
        const pending = this.pendingOpens.get(arg1);
        if (pending !== undefined) {
          this.pendingOpens.delete(arg1);
          pending.channel.remoteId = arg0;
          this.channels.set(arg1, pending.channel);
          pending.resolve(pending.channel);
          return;
        }
        this.channels.get(arg1)?.handleOkay();
        return;
      }
      case A_WRTE: {
        const channel = this.channels.get(arg1);
        if (channel !== undefined) channel.handleWrite(data);
        // A WRTE for an unknown stream means it was closed meanwhile: tell the sender again.
        else if (this.state === 'online') this.send(A_CLSE, 0, arg0);
        return;
      }
      case A_CLSE: {
        const pending = this.pendingOpens.get(arg1);
        if (pending !== undefined) {
          this.pendingOpens.delete(arg1);
          pending.reject(new Error('the adb server refused the stream (nothing listening on the host side?)'));
          return;
        }
        this.channels.get(arg1)?.handleClose();
        return;
      }
      default:
        this.owner.debug(`ignoring ${commandName(command)}`);
    }
  }

  private handleOpen(remoteId: number, service: string): void {
    if (this.state !== 'online' || remoteId === 0) return;
    const runner = this.owner.serviceFor(service, this);
    if (runner === undefined) {
      this.send(A_CLSE, 0, remoteId);
      return;
    }
    const channel = new AdbChannel(this, this.nextLocalId++, remoteId);
    this.channels.set(channel.localId, channel);
    this.send(A_OKAY, channel.localId, remoteId);
    const running = runner(channel);
    // A service that does not read its stream still acknowledges what it is sent.
    if (!channel.isAttached) channel.attach({});
    running.catch((error: unknown) => {
      this.owner.debug(`service ${service} failed: ${(error as Error).stack ?? String(error)}`);
    }).finally(() => {
      // Services normally end their stream; make sure a failed one does not leave it open.
      void channel.end();
    });
  }
}

function printable(data: Buffer): string {
  const text = data.subarray(0, 120).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  return data.length > 120 ? `${text}…` : text;
}
