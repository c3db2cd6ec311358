import { type Duplex } from 'node:stream';
import { HostError } from '../../core/host-error.js';

/**
 * Runs one request on a usbmuxd or device stream with a deadline. A peer that never answers, or
 * trickles its answer a byte at a time, would otherwise hold the request (and its socket) forever:
 * past `ms` the streams are destroyed, which ends every pending read, and the request fails as a
 * timeout that says which peer was too slow.
 */
export async function withDeadline<T>(streams: readonly Duplex[], ms: number, what: string, work: () => Promise<T>): Promise<T> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    for (const stream of streams) stream.destroy();
  }, ms);
  try {
    return await work();
  } catch (error) {
    if (timedOut) throw new HostError('timeout', `${what} did not answer within ${ms} ms; sonarhost closed the connection.`, { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
