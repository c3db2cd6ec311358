import { type Duplex } from 'node:stream';
import { HostError } from '../../core/host-error.js';

/**
 * Reads exactly `size` bytes in paused mode. It never takes a byte more than asked, so the socket can be
 * handed over afterwards (usbmux Connect turns the socket into a pipe, lockdown's turns to TLS) with
 * whatever followed still unread.
 */
export function readExactly(stream: Duplex, size: number, what: string): Promise<Buffer> {
  if (size === 0) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('readable', attempt);
      stream.off('end', ended);
      stream.off('close', ended);
      stream.off('error', failed);
    };
    const attempt = () => {
      const chunk = stream.read(size) as Buffer | null;
      if (chunk === null) return;
      cleanup();
      if (chunk.length < size) reject(new HostError('device-unavailable', `${what} closed the connection in the middle of a message.`));
      else resolve(chunk);
    };
    const ended = () => {
      cleanup();
      reject(new HostError('device-unavailable', `${what} closed the connection.`));
    };
    const failed = (error: Error) => {
      cleanup();
      reject(new HostError('device-unavailable', `${what}: ${error.message}`, { cause: error }));
    };
    stream.on('readable', attempt);
    stream.once('end', ended);
    stream.once('close', ended);
    stream.once('error', failed);
    if (stream.readableEnded || stream.destroyed) ended();
    else attempt();
  });
}
