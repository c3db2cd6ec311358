import { type Duplex } from 'node:stream';
import { HostError } from '../../core/host-error.js';
import { withDeadline } from './device-deadline.js';
import { type PlistDict, decodePlist, encodePlist } from './plist-codec.js';
import { readExactly } from './socket-reader.js';

/** Lockdown replies (values, service ports) are small; this bounds what a broken peer can make us hold. */
const MAX_PLIST_BYTES = 1024 * 1024;

/** lockdownd's and house_arrest's framing: a 4-byte big-endian length, then a plist. */
export class PlistStream {
  /** The device socket the stream started on; `stream` may become TLS over it. */
  private readonly root: Duplex;

  constructor(
    public stream: Duplex,
    private readonly what: string,
    /** The deadline of each request: past it, the connection is closed. */
    private readonly timeoutMs: number,
  ) {
    this.root = stream;
  }

  send(message: PlistDict): void {
    const body = encodePlist(message);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length, 0);
    this.stream.write(Buffer.concat([length, body]));
  }

  async receive(): Promise<PlistDict> {
    const length = (await readExactly(this.stream, 4, this.what)).readUInt32BE(0);
    if (length > MAX_PLIST_BYTES) {
      this.stream.destroy();
      throw new HostError('protocol-invalid', `${this.what} sent a ${length}-byte message; sonarhost reads at most ${MAX_PLIST_BYTES}.`);
    }
    return decodePlist(await readExactly(this.stream, length, this.what), this.what);
  }

  async request(message: PlistDict): Promise<PlistDict> {
    const doing = typeof message.Request === 'string' ? message.Request : String(message.Command);
    return withDeadline([this.stream, this.root], this.timeoutMs, `${this.what} (${doing})`, async () => {
      this.send(message);
      return this.receive();
    });
  }

  /** Closes the stream and the device socket below it. */
  close(): void {
    this.stream.destroy();
    this.root.destroy();
  }
}
