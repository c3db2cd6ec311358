import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { WebSocketServer } from 'ws';

/**
 * The floor for a secure set-up, run as its own process like the hosts (bench/floor.ts starts it):
 * mutual TLS with sonarhost's own server credentials, then the shape of a host's first request: the
 * server sends one message, the client answers, the server sends a second one. Nothing else: no
 * identity checks, no registry, no logging. One listener on raw TLS (newline-framed), one on WebSocket
 * over TLS (text frames, upgrade as `ws` does it). A client that never answers stays idle: the memory
 * rows hold such clients to measure the floor's cost per connection, and a plain HTTP listener answers
 * `GET /` with how many of each are open, so those rows can check they measured what they held.
 * Prints `{"tls":port,"wss":port,"count":port}` once listening.
 */
const options: tls.TlsOptions = {
  key: process.env.FLOOR_KEY,
  cert: process.env.FLOOR_CERT,
  ca: process.env.FLOOR_CA,
  requestCert: true,
  rejectUnauthorized: true,
};
const FIRST = '{"id":0,"method":"getPlugins"}';
const SECOND = '{"id":1,"method":"getBackgroundPlugins"}';

const open = { tls: 0, wss: 0 };

const raw = tls.createServer(options, (socket) => {
  open.tls++;
  socket.once('close', () => open.tls--);
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.write(FIRST + '\n');
  socket.once('data', () => socket.write(SECOND + '\n'));
});

const secure = https.createServer(options);
const wss = new WebSocketServer({ server: secure });
wss.on('connection', (socket) => {
  open.wss++;
  socket.once('close', () => open.wss--);
  socket.on('error', () => undefined);
  socket.send(FIRST);
  socket.once('message', () => socket.send(SECOND));
});

const listening = (server: net.Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
const count = http.createServer((_req, res) => res.end(JSON.stringify(open)));
const ports = { tls: await listening(raw), wss: await listening(secure), count: await listening(count) };
process.stdout.write(JSON.stringify(ports) + '\n');
process.on('SIGTERM', () => process.exit(0));
