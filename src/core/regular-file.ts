import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Reads a regular file of at most `maxBytes`, refusing a symbolic link at its name (O_NOFOLLOW) and
 * anything that is not a plain file. The files read through this prove who owns a folder (container
 * metadata, app.csr), so a link planted in place of one must not lend another app's file as proof.
 * O_NONBLOCK keeps a planted FIFO from hanging the open (and with it one of libuv's four pool
 * threads, which every file read and TLS handshake of the host shares); the size check and the
 * bounded read keep /dev/zero or a growing file from filling memory. Shared by the device transports
 * that read an app's folder on this machine (desktop, iOS simulator).
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`${path} is a symbolic link`, { cause: error });
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${path} is not a regular file`);
    if (info.size > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`);
    // Read at most one byte more than allowed: a file that grew since the stat is caught, not slurped.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`);
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}
