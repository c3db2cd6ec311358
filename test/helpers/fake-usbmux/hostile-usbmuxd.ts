import { once } from 'node:events';
import * as net from 'node:net';
import { parse, stringify } from 'simple-plist';
import { ByteQueue } from './byte-queue.js';

/**
 * How a squatted usbmuxd (any local user can listen on a TCP USBMUXD_SOCKET_ADDRESS) attacks:
 * - `flood`: answers Listen, then floods replies with tags no request carries; every other request
 *   gets only such replies, never its own;
 * - `silent`: accepts connections and reads requests, never answers;
 * - `trickle`: answers with the right tag, one byte every 100 ms.
 */
export type UsbmuxdAttack = 'flood' | 'silent' | 'trickle';

const TRICKLE_MS = 100;

/**
 * The attacker's usbmuxd: the plist protocol's framing (16-byte header) and nothing more. ListDevices
 * is answered honestly when `devices` are given, so the host goes on to ask about a phone (pair record,
 * lockdown) and meets the attack there. Counts its connections on the server side.
 */
export class HostileUsbmuxd {
  readonly requests: string[] = [];
  /** Connections accepted so far. */
  accepted = 0;
  /** Connections still open on this side. */
  readonly open = new Set<net.Socket>();
  private readonly server = net.createServer((socket) => void this.serve(socket));

  constructor(
    readonly path: string,
    readonly attack: UsbmuxdAttack,
    private readonly devices: readonly string[] = [],
  ) {}

  async start(): Promise<this> {
    this.server.listen(this.path);
    await once(this.server, 'listening');
    return this;
  }

  get address(): string {
    return `unix:${this.path}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async serve(socket: net.Socket): Promise<void> {
    this.accepted++;
    this.open.add(socket);
    socket.on('close', () => this.open.delete(socket));
    socket.on('error', () => undefined);
    const queue = new ByteQueue(socket);
    for (;;) {
      const header = await queue.take(16);
      if (!header) return;
      const body = await queue.take(header.readUInt32LE(0) - 16);
      if (!body) return;
      const tag = header.readUInt32LE(12);
      const kind = String((parse(body) as Record<string, unknown>).MessageType);
      this.requests.push(kind);
      if (kind === 'ListDevices' && this.devices.length > 0) {
        socket.write(frame(tag, { DeviceList: this.devices.map((udid, i) => ({ MessageType: 'Attached', DeviceID: i + 1, Properties: { DeviceID: i + 1, SerialNumber: udid, ConnectionType: 'USB' } })) }));
      } else if (this.attack === 'flood') {
        if (kind === 'Listen') socket.write(frame(tag, { MessageType: 'Result', Number: 0 }));
        void flood(socket, tag);
      } else if (this.attack === 'trickle') {
        void trickle(socket, frame(tag, { MessageType: 'Result', Number: 0 }));
      }
    }
  }
}

/** Replies to requests never made, as fast as the socket takes them, until it closes. */
async function flood(socket: net.Socket, tag: number): Promise<void> {
  for (let n = 1; !socket.destroyed; n++) {
    if (!socket.write(frame(tag + n, { MessageType: 'Result', Number: 0 }))) {
      await Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => undefined);
    }
  }
}

async function trickle(socket: net.Socket, bytes: Buffer): Promise<void> {
  for (const byte of bytes) {
    if (socket.destroyed) return;
    socket.write(Buffer.from([byte]));
    await new Promise((resolve) => setTimeout(resolve, TRICKLE_MS));
  }
}

function frame(tag: number, message: Record<string, unknown>): Buffer {
  const body = Buffer.from(stringify(message), 'utf8');
  const header = Buffer.alloc(16);
  header.writeUInt32LE(16 + body.length, 0);
  header.writeUInt32LE(1, 4);
  header.writeUInt32LE(8, 8);
  header.writeUInt32LE(tag, 12);
  return Buffer.concat([header, body]);
}
