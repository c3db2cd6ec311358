import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { unwritable } from './write-error.js';

/**
 * The serial counter shared by the server certificate and every client certificate, kept in
 * `server.srl` in openssl's format (hex digits and a newline), so a folder made by upstream Flipper's
 * `openssl x509 -CAserial server.srl` keeps counting where it was and never reissues a serial.
 */
export class SerialFile {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  /** Reserves the next serial (persisted before it is returned) and hands it out as a hex string. */
  next(): Promise<string> {
    const result = this.queue.then(() => this.advance());
    this.queue = result.catch(() => undefined); // one failure must not wedge every later signature
    return result;
  }

  private async advance(): Promise<string> {
    const current = await this.read();
    const next = current === undefined ? initialSerial() : current + 1n;
    const hex = toHex(next);
    await writeFileAtomic(this.path, hex + '\n', 0o600).catch((error: unknown) => {
      throw unwritable(this.path, error);
    });
    return hex;
  }

  private async read(): Promise<bigint | undefined> {
    let text: string;
    try {
      text = (await readFile(this.path, 'utf8')).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    // A damaged serial file (upstream issue #5470) restarts from a fresh random value instead of failing:
    // a random 63-bit start cannot collide in practice with serials already issued.
    if (!/^[0-9A-Fa-f]{1,40}$/.test(text)) return undefined;
    return BigInt('0x' + text);
  }
}

function initialSerial(): bigint {
  // Positive and below 2^63, like openssl's -CAcreateserial start value (which is random too).
  const bytes = randomBytes(8);
  bytes[0]! &= 0x7f;
  bytes[0]! |= 0x10;
  return BigInt('0x' + bytes.toString('hex'));
}

function toHex(value: bigint): string {
  let hex = value.toString(16).toUpperCase();
  if (hex.length % 2 === 1) hex = '0' + hex;
  // DER integers are signed: a leading byte of 0x80 or more needs a zero byte to stay positive.
  return /^[89A-F]/.test(hex) ? '00' + hex : hex;
}
