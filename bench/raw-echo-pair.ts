import * as net from 'node:net';
import * as tls from 'node:tls';
import { RSocketServer, type TransportServer } from 'rsocket-core';
import * as tcpServerModule from 'rsocket-tcp-server';
import { type ServerOptions } from 'rsocket-tcp-server';
import { type Payload, type ReactiveSocket } from 'rsocket-types';
import { type OpenedRSocket, connectTcp, connectTls, openRSocket } from '../src/client/rsocket-connection.js';
import { singleFrom } from '../src/core/protocol/rsocket-single.js';
import { answerHostCall } from './raw-app.js';

// In Node ESM the CommonJS module's `default` holds the class (dependencies.md, pitfall 4).
type TcpServerClass = new (options: ServerOptions) => TransportServer;
const tcpServerDefault = (tcpServerModule as unknown as { default: TcpServerClass | { default: TcpServerClass } }).default;
const RSocketTCPServer: TcpServerClass = typeof tcpServerDefault === 'function' ? tcpServerDefault : tcpServerDefault.default;

export interface RawEchoPair {
  /** One host→app request-response with the same JSON as AppSession.call, parsed as AppSession does. */
  call(n: number): Promise<void>;
  /** The app sends a plugin event (fire-and-forget), as the SDKs' connection.send does. */
  sendEvent(n: number): void;
  /** Events the host side received (each parsed). */
  readonly eventsReceived: number;
  stop(): Promise<void>;
}

/**
 * The ceiling: rsocket-js 0.0.27 alone, an RSocketServer (over RSocketTCPServer with setNoDelay in its
 * serverFactory) playing the host and an RSocketClient playing the app, on 127.0.0.1, with the same
 * JSON work on each side as sonarhost and the app do (stringify, parse, answer). `tlsMaterial` puts
 * TLS underneath, as on the secure port.
 */
export async function startRawEchoPair(tlsMaterial?: { server: { key: string; cert: string; ca: string }; client: { key: string; cert: string; ca: string } }): Promise<RawEchoPair> {
  let hostSide: ReactiveSocket<string, string> | undefined;
  let eventsReceived = 0;
  let nextId = 0;
  let netServer: net.Server | undefined;
  const transport = new RSocketTCPServer({
    host: '127.0.0.1',
    port: 0,
    serverFactory: (onConnect: (socket: net.Socket) => void) => {
      const handler = (socket: net.Socket) => {
        socket.setNoDelay(true);
        onConnect(socket);
      };
      netServer = tlsMaterial
        ? tls.createServer({ ...tlsMaterial.server, requestCert: true, rejectUnauthorized: true }, handler)
        : net.createServer(handler);
      return netServer;
    },
  });
  const server = new RSocketServer<string, string>({
    transport,
    getRequestHandler: (socket) => {
      hostSide = socket;
      return {
        fireAndForget: (payload: Payload<string, string>) => {
          JSON.parse(payload.data ?? '{}');
          eventsReceived++;
        },
      };
    },
  });
  server.start();
  if (!netServer!.listening) await new Promise((resolve) => netServer!.once('listening', resolve));
  const port = (netServer!.address() as net.AddressInfo).port;
  const responder = { requestResponse: (payload: Payload<string, string>) => singleFrom(async () => answerHostCall(payload.data)) };
  const setup = JSON.stringify({ os: 'MacOS', device: 'raw', device_id: '', app: 'Raw', sdk_version: 4, medium: 1 });
  const client: OpenedRSocket = tlsMaterial
    ? await openRSocket(connectTls('127.0.0.1', port, tlsMaterial.client), 'secureConnect', setup, responder)
    : await openRSocket(connectTcp('127.0.0.1', port), 'connect', setup, responder);
  const deadline = Date.now() + 5000;
  while (!hostSide && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  if (!hostSide) throw new Error('the raw rsocket-js server never saw the SETUP');
  const host = hostSide;
  return {
    call: (n) =>
      new Promise((resolve, reject) => {
        const data = JSON.stringify({ id: nextId++, method: 'execute', params: { api: 'echo', method: 'ping', params: { n } } });
        host.requestResponse({ data, metadata: '' }).subscribe({
          onComplete: (payload) => {
            const answer = JSON.parse(payload.data ?? '{}') as { success?: unknown };
            if (answer.success === undefined) reject(new Error('no success in the answer'));
            else resolve();
          },
          onError: reject,
        });
      }),
    sendEvent: (n) => client.socket.fireAndForget({ data: JSON.stringify({ method: 'execute', params: { api: 'echo', method: 'tick', params: { n } } }), metadata: '' }),
    get eventsReceived() {
      return eventsReceived;
    },
    stop: async () => {
      client.socket.close();
      server.stop();
      await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}
