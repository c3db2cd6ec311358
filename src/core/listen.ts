import { once } from 'node:events';
import type * as net from 'node:net';
import { HostError } from './host-error.js';

/** Errors that mean "this address family is not available here" (e.g. no IPv6): that address is skipped. */
export const UNAVAILABLE_ADDRESS = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT']);

/**
 * Listens and waits until listening. A port in use becomes one clear message naming the port and how
 * to move it (`moveHint`, e.g. `FLIPPER_PORTS="<insecure>,<secure>" or --ports`).
 */
export async function listen(server: net.Server, port: number, host: string, moveHint: string): Promise<net.AddressInfo> {
  server.listen(port, host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new HostError('config-invalid', `Port ${port} on ${host} is already in use (another Flipper or sonarhost?). Stop that program, or move sonarhost's ports with ${moveHint}.`, { cause: error });
    }
    throw new HostError('config-invalid', `Cannot listen on ${host} port ${port}: ${(error as Error).message}.`, { cause: error });
  }
  server.on('error', () => undefined); // after listening, errors surface per socket
  return server.address() as net.AddressInfo;
}

/** Whether a listen failure only means that this address does not exist on this machine. */
export function isUnavailableAddress(error: unknown): boolean {
  const code = ((error as HostError).cause as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && UNAVAILABLE_ADDRESS.has(code);
}
