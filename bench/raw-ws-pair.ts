import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { type AppIdentity, type TlsMaterial } from './raw-app.js';
import { type RawEchoPair } from './raw-echo-pair.js';
import { connectWsApp } from './ws-app.js';

/**
 * The WebSocket ceiling: a `ws` server playing the host and the bench's WebSocket app (bench/ws-app.ts,
 * the same client sonarhost is measured with) in one process on 127.0.0.1. The host side does the JSON
 * work a host must (stringify each request, parse each answer once, match its id) and nothing else.
 * `tlsMaterial` puts TLS with client certificates underneath, as on the secure port (9088).
 */
export async function startRawWsPair(identity: AppIdentity, tlsMaterial?: { server: TlsMaterial; client: TlsMaterial }): Promise<RawEchoPair> {
  const server: net.Server = tlsMaterial ? https.createServer({ ...tlsMaterial.server, requestCert: true, rejectUnauthorized: true }) : http.createServer();
  const wss = new WebSocketServer({ server: server as http.Server });
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let hostSide: WebSocket | undefined;
  let eventsReceived = 0;
  let nextId = 0;
  wss.on('connection', (socket) => {
    hostSide = socket;
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: unknown; success?: unknown };
      if (typeof message.id !== 'number') {
        eventsReceived++;
        return;
      }
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (message.success === undefined) waiting?.reject(new Error('no success in the answer'));
      else waiting?.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const app = await connectWsApp(port, tlsMaterial?.client, identity, 'raw', '/tmp/raw/');
  const deadline = Date.now() + 5000;
  while (!hostSide && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  if (!hostSide) throw new Error('the raw ws server never saw the connection');
  const host = hostSide;
  return {
    call: (n) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        host.send(JSON.stringify({ id, method: 'execute', params: { api: 'echo', method: 'ping', params: { n } } }));
      }),
    sendEvent: (n) => app.send('echo', 'tick', { n }),
    get eventsReceived() {
      return eventsReceived;
    },
    stop: async () => {
      app.close();
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
