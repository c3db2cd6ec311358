import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** Serials upstream's openssl counter may have issued, or may issue next, around the value in `server.srl`. */
const COUNTER_WINDOW = 2n ** 32n;

/**
 * Serial numbers for every certificate the store issues: 16 random bytes with the top byte in
 * 0x40–0x7f, so 126 bits of entropy (RFC 5280 practice asks for at least 64), always positive, always
 * 16 bytes, and minimal in DER (no leading zero byte needed). Nothing is written per certificate.
 *
 * `server.srl` is upstream Flipper's openssl counter. sonarhost no longer writes it; an existing one is
 * read once at load and left as it is, and a random serial within 2^32 of its value (what the counter
 * may have issued, or issues if the folder goes back to upstream) is drawn again, so the two never meet.
 */
export class SerialNumbers {
  private counter: bigint | undefined;

  constructor(private readonly counterPath: string) {}

  /** Reads `server.srl` if there is one; a damaged or unreadable one only means there is nothing to avoid. */
  async load(): Promise<void> {
    try {
      const text = (await readFile(this.counterPath, 'utf8')).trim();
      this.counter = /^[0-9A-Fa-f]{1,40}$/.test(text) ? BigInt('0x' + text) : undefined;
    } catch {
      this.counter = undefined;
    }
  }

  next(): Buffer {
    for (;;) {
      const serial = randomBytes(16);
      serial[0] = (serial[0]! & 0x3f) | 0x40;
      if (this.counter === undefined) return serial;
      const distance = BigInt('0x' + serial.toString('hex')) - this.counter;
      if (distance > COUNTER_WINDOW || distance < -COUNTER_WINDOW) return serial;
    }
  }
}

/** Upper-case hex, as `openssl x509 -serial` prints it. */
export const serialHex = (serial: Buffer): string => serial.toString('hex').toUpperCase();
