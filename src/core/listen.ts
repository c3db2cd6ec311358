import { once } from 'node:events';
import type * as net from 'node:net';
import { type Disposable, DisposableCollection } from './disposable.js';
import { HostError, describeError } from './host-error.js';
import { type Logger } from './logger.js';

/**
 * How long a client may take for its TLS handshake or WebSocket upgrade before it is dropped (Node's
 * default is 120 s, long enough for slow clients to hold connection slots).
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

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

/** One listener on one address, as `listenEverywhere` asks a transport to start it. */
export interface AddressListener {
  address: net.AddressInfo;
  /** Closes the listener and every connection it accepted. */
  stop: Disposable;
}

export interface ListenEverywhereOptions {
  /** The listener's name in logs and errors, e.g. `secure` or `WebSocket browser`. */
  name: string;
  /** The configured port; 0 asks for a free one, then shared by every address. */
  port: number;
  hosts: readonly string[];
  log: Logger;
  /** Creates a server and listens on `host`:`port` (with `listen` above, so errors are HostErrors). */
  listenOn(host: string, port: number): Promise<AddressListener>;
}

/**
 * Listens on each bind address with the same port (for port 0, the one the first address got). An
 * address this machine does not have is skipped while another is configured; any other failure stops
 * the listeners already started and is thrown. Returns the bound port and one Disposable for them all.
 */
export async function listenEverywhere(options: ListenEverywhereOptions): Promise<{ port: number; listeners: Disposable }> {
  const { name, hosts, log } = options;
  const listeners = new DisposableCollection();
  let port = options.port;
  let listening = 0;
  try {
    for (const host of hosts) {
      let listener: AddressListener;
      try {
        listener = await options.listenOn(host, port);
      } catch (error) {
        if (isUnavailableAddress(error) && hosts.length > 1) {
          log.warn(`cannot bind ${host} on this machine; serving the other addresses`, { listener: name, port, error: describeError(error) });
          continue;
        }
        throw error;
      }
      listeners.push(listener.stop);
      listening++;
      port = listener.address.port;
      log.info(`listening (${name})`, { host, port });
    }
  } catch (error) {
    await listeners.dispose();
    throw error;
  }
  if (listening === 0) throw new HostError('config-invalid', `No ${name} listener could be started on ${hosts.join(', ')}.`);
  return { port, listeners };
}
