import * as net from 'node:net';
import { once } from 'node:events';
import { type FakeAndroidDevice } from './fake-adb/fake-android-device.js';

/**
 * What an app on a fake device dials: `localhost:<port>` on the device. Each device port becomes a
 * local port here whose connections are carried through `device.openTcpStream(port)`, i.e. through
 * the device's adb reverse, exactly as a phone's app reaches the host.
 */
export async function devicePorts(device: FakeAndroidDevice, ports: number[]): Promise<{ local: Record<number, number>; stop(): Promise<void> }> {
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const local: Record<number, number> = {};
  for (const port of ports) {
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      device.openTcpStream(port).then(
        (stream) => {
          stream.on('error', () => socket.destroy());
          socket.pipe(stream).pipe(socket);
          stream.once('close', () => socket.destroy());
          socket.once('close', () => stream.destroy());
        },
        () => socket.destroy(), // no reverse, or nothing listening: the app sees a refused connection
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    local[port] = (server.address() as net.AddressInfo).port;
    servers.push(server);
  }
  return {
    local,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}
