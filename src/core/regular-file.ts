import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Reads a regular file of at most `maxBytes`, refusing a symbolic link at its name (O_NOFOLLOW) and
 * anything that is not a plain file. The files read through this prove who owns a folder (container
 * metadata, app.csr), so a link planted in place of one must not lend another app's file as proof.
 * O_NONBLOCK keeps a planted FIFO from hanging the open; the size check and the bounded read keep
 * /dev/zero or a growing file from filling memory. Shared by the device transports that read an app's
 * folder on this machine (desktop, iOS simulator).
 *
 * The calls are synchronous on purpose: these are small local files read on every exchange, and
 * each asynchronous call is a round trip through libuv's thread pool (measured here: open, fstat, read
 * and close cost ~350 µs of CPU that way, ~40 µs directly). None of them can block on a FIFO or a
 * device, for the reasons above.
 */
export function readRegularFileSync(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`${path} is a symbolic link`, { cause: error });
    throw error;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new Error(`${path} is not a regular file`);
    if (info.size > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`);
    // Read at most one byte more than allowed: a file that grew since the stat is caught, not slurped.
    const buffer = Buffer.allocUnsafe(maxBytes + 1);
    let length = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`);
    }
    // A copy of what was read, so the caller does not keep the whole scratch buffer alive.
    return Buffer.from(buffer.subarray(0, length));
  } finally {
    closeSync(fd);
  }
}

/** {@link readRegularFileSync} for callers that await. */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  return readRegularFileSync(path, maxBytes);
}
