import { once } from 'node:events';
import * as net from 'node:net';
import { type Duplex } from 'node:stream';
import { type FakeIphone } from './fake-iphone.js';

/** What FlipperKit's forwarding does per port: the channel port on USB, and the app's localhost port. */
export interface ForwardedAppPort {
  /** The Peertalk channel port the computer dials (8079, 8078, 9079, 9078). */
  channelPort: number;
  /** The app's own `localhost` listener (an ephemeral port standing in for 8089/8088/9089/9088). */
  appPort: number;
}

/** A Peertalk frame as the fake phone saw it, for assertions. */
export interface SeenFrame {
  direction: 'to-host' | 'from-host';
  channelPort: number;
  type: number;
  tag: number;
  size: number;
}

/**
 * FlipperKit's FKPortForwardingServer inside an app on the fake iPhone: listens on the channel ports for
 * the computer's Peertalk channel (the newest one wins, an older one is closed), and accepts the app's own
 * connections on local ports, carrying each as a pipe (201 open, 202 bytes, 203 close, 16-byte big-endian
 * headers). Without a channel, an app connection is dropped, as the real server does.
 */
export class FakePeertalkApp {
  readonly frames: SeenFrame[] = [];
  readonly ports: ForwardedAppPort[] = [];
  private readonly servers: net.Server[] = [];
  private readonly channels = new Map<number, Duplex>();
  private readonly appSockets = new Map<string, net.Socket>();
  private nextTag = 1;

  private constructor(private readonly phone: FakeIphone) {}

  /** Starts forwarding for the given channel ports (the app's listeners get ephemeral loopback ports). */
  static async start(phone: FakeIphone, channelPorts: number[]): Promise<FakePeertalkApp> {
    const app = new FakePeertalkApp(phone);
    for (const channelPort of channelPorts) {
      const server = net.createServer((socket) => app.fromApp(channelPort, socket));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      app.servers.push(server);
      app.ports.push({ channelPort, appPort: (server.address() as net.AddressInfo).port });
      phone.listenOn(channelPort, (socket) => app.channel(channelPort, socket));
    }
    return app;
  }

  /** The app's port for a channel port. */
  appPort(channelPort: number): number {
    return this.ports.find((p) => p.channelPort === channelPort)!.appPort;
  }

  hasChannel(channelPort: number): boolean {
    return this.channels.has(channelPort);
  }

  get openPipes(): number {
    return this.appSockets.size;
  }

  /** The app quits: listeners close, channels and pipes drop. */
  async stop(): Promise<void> {
    for (const { channelPort } of this.ports) this.phone.stopListening(channelPort);
    for (const channel of this.channels.values()) channel.destroy();
    for (const socket of this.appSockets.values()) socket.destroy();
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }

  private channel(channelPort: number, socket: Duplex): void {
    this.channels.get(channelPort)?.destroy(); // the newest channel wins
    this.channels.set(channelPort, socket);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 16) {
        const version = buffer.readUInt32BE(0);
        const type = buffer.readUInt32BE(4);
        const tag = buffer.readUInt32BE(8);
        const size = buffer.readUInt32BE(12);
        if (version !== 1) {
          socket.destroy();
          return;
        }
        if (buffer.length < 16 + size) return;
        const payload = buffer.subarray(16, 16 + size);
        buffer = buffer.subarray(16 + size);
        this.frames.push({ direction: 'from-host', channelPort, type, tag, size });
        const app = this.appSockets.get(`${channelPort}/${tag}`);
        if (type === 202) app?.write(payload);
        else if (type === 203) {
          this.appSockets.delete(`${channelPort}/${tag}`);
          app?.end();
        }
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.channels.get(channelPort) === socket) this.channels.delete(channelPort);
      for (const [key, app] of this.appSockets) {
        if (key.startsWith(`${channelPort}/`)) {
          this.appSockets.delete(key);
          app.destroy();
        }
      }
    });
    socket.resume();
  }

  private fromApp(channelPort: number, app: net.Socket): void {
    const channel = this.channels.get(channelPort);
    if (!channel) {
      app.destroy();
      return;
    }
    const tag = this.nextTag++;
    const key = `${channelPort}/${tag}`;
    this.appSockets.set(key, app);
    const send = (type: number, payload: Buffer = Buffer.alloc(0)) => {
      const header = Buffer.alloc(16);
      header.writeUInt32BE(1, 0);
      header.writeUInt32BE(type, 4);
      header.writeUInt32BE(tag, 8);
      header.writeUInt32BE(payload.length, 12);
      this.frames.push({ direction: 'to-host', channelPort, type, tag, size: payload.length });
      if (!channel.destroyed) channel.write(Buffer.concat([header, payload]));
    };
    send(201);
    app.on('data', (chunk: Buffer) => send(202, chunk));
    app.on('error', () => undefined);
    app.on('close', () => {
      if (this.appSockets.get(key) === app) {
        this.appSockets.delete(key);
        send(203);
      }
    });
  }
}
