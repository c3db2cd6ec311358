import * as http from 'node:http';
import type * as net from 'node:net';

/**
 * Node's HTTP server takes its own 'error' listener off a socket it hands to 'upgrade'. Until a
 * WebSocket library adopts the socket (or for good, when the upgrade is refused), a reset from the
 * client would be an 'error' with no listener: an uncaught exception that ends the host. Call this
 * first thing in every 'upgrade' handler; a broken socket is destroyed and forgotten.
 */
export function guardUpgradeSocket(socket: net.Socket): void {
  socket.on('error', () => socket.destroy());
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function refuseUpgrade(socket: net.Socket, status: number, body: string, contentType: string): void {
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: ${contentType}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
