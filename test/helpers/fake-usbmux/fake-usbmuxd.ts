import { once } from 'node:events';
import * as net from 'node:net';
import { type Duplex } from 'node:stream';
import { parse, stringify } from 'simple-plist';
import { ByteQueue } from './byte-queue.js';

/** A device as the fake usbmuxd sees it: its UDID, its pairing, and what listens on its ports. */
export interface FakeUsbDevice {
  readonly udid: string;
  readonly connectionType: 'USB' | 'Network';
  /** The binary pair record usbmuxd holds for it, or undefined when not paired. */
  pairRecord(): Buffer | undefined;
  /** Whether something listens on a device port (else usbmux Connect answers result 3). */
  listens(port: number): boolean;
  /** Takes a connection to a device port that listens. */
  accept(port: number, socket: Duplex): void;
}

type Plist = Record<string, unknown>;

/**
 * usbmuxd on a unix socket: plist protocol version 1 (16-byte little-endian header), ListDevices, Listen
 * (Attached/Detached pushed to listeners), ReadPairRecord, and Connect, which hands the socket to the
 * device's port (PortNumber in network byte order, as real usbmuxd wants).
 */
export class FakeUsbmuxd {
  readonly requests: string[] = [];
  /** Ports Connect was asked for, decoded as usbmuxd decodes them. */
  readonly connects: number[] = [];
  private readonly server = net.createServer((socket) => void this.serve(socket));
  private readonly devices = new Map<number, FakeUsbDevice>();
  private readonly listeners = new Set<net.Socket>();
  private readonly sockets = new Set<net.Socket>();
  private nextId = 1;

  constructor(readonly path: string) {}

  async start(): Promise<this> {
    this.server.listen(this.path);
    await once(this.server, 'listening');
    return this;
  }

  get address(): string {
    return `unix:${this.path}`;
  }

  /** Plugs a device in: a new DeviceID, and an Attached message to every listener. */
  attach(device: FakeUsbDevice): number {
    const id = this.nextId++;
    this.devices.set(id, device);
    for (const listener of this.listeners) this.send(listener, 0, this.attachedMessage(id, device));
    return id;
  }

  detach(device: FakeUsbDevice): void {
    for (const [id, d] of this.devices) {
      if (d !== device) continue;
      this.devices.delete(id);
      for (const listener of this.listeners) this.send(listener, 0, { MessageType: 'Detached', DeviceID: id });
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private attachedMessage(id: number, device: FakeUsbDevice): Plist {
    return { MessageType: 'Attached', DeviceID: id, Properties: { DeviceID: id, SerialNumber: device.udid, ConnectionType: device.connectionType, ProductID: 4776, LocationID: 0 } };
  }

  private async serve(socket: net.Socket): Promise<void> {
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.listeners.delete(socket);
    });
    socket.on('error', () => undefined);
    const queue = new ByteQueue(socket);
    for (;;) {
      const header = await queue.take(16);
      if (!header) return;
      const length = header.readUInt32LE(0);
      const version = header.readUInt32LE(4);
      const type = header.readUInt32LE(8);
      const tag = header.readUInt32LE(12);
      const body = await queue.take(length - 16);
      if (!body) return;
      if (version !== 1 || type !== 8) {
        this.send(socket, tag, { MessageType: 'Result', Number: 6 });
        continue;
      }
      const request = parse(body) as Plist;
      const kind = String(request.MessageType);
      this.requests.push(kind);
      if (kind === 'ListDevices') {
        this.send(socket, tag, { DeviceList: [...this.devices].map(([id, d]) => this.attachedMessage(id, d)) });
      } else if (kind === 'Listen') {
        this.send(socket, tag, { MessageType: 'Result', Number: 0 });
        this.listeners.add(socket);
        for (const [id, d] of this.devices) this.send(socket, 0, this.attachedMessage(id, d));
      } else if (kind === 'ReadPairRecord') {
        const device = [...this.devices.values()].find((d) => d.udid === request.PairRecordID);
        const record = device?.pairRecord();
        this.send(socket, tag, record ? { PairRecordData: record } : { MessageType: 'Result', Number: 2 });
      } else if (kind === 'Connect') {
        const device = this.devices.get(Number(request.DeviceID));
        const wire = Number(request.PortNumber);
        const port = ((wire & 0xff) << 8) | ((wire >> 8) & 0xff);
        this.connects.push(port);
        if (!device) {
          this.send(socket, tag, { MessageType: 'Result', Number: 2 });
          continue;
        }
        if (!device.listens(port)) {
          this.send(socket, tag, { MessageType: 'Result', Number: 3 });
          continue;
        }
        // From here on the socket is a byte pipe to the device's port; bytes read ahead belong to it.
        const rest = queue.detach();
        this.send(socket, tag, { MessageType: 'Result', Number: 0 });
        if (rest.length > 0) socket.unshift(rest);
        device.accept(port, socket);
        return;
      } else {
        this.send(socket, tag, { MessageType: 'Result', Number: 1 });
      }
    }
  }

  private send(socket: net.Socket, tag: number, message: Plist): void {
    const body = Buffer.from(stringify(message), 'utf8');
    const header = Buffer.alloc(16);
    header.writeUInt32LE(16 + body.length, 0);
    header.writeUInt32LE(1, 4);
    header.writeUInt32LE(8, 8);
    header.writeUInt32LE(tag, 12);
    if (!socket.destroyed) socket.write(Buffer.concat([header, body]));
  }
}
