import { type Duplex } from 'node:stream';
import { HostError } from '../../core/host-error.js';
import { withDeadline } from './device-deadline.js';
import { readExactly } from './socket-reader.js';

const MAGIC = Buffer.from('CFA6LPAA', 'ascii');
const HEADER_BYTES = 40;
/** Bounds one reply: the files read here are a CSR; directory listings and file info are small too. */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

export const AFC_OP = {
  status: 1,
  data: 2,
  readDir: 3,
  removePath: 8,
  makeDir: 9,
  getFileInfo: 10,
  fileOpen: 13,
  fileOpenResult: 14,
  fileRead: 15,
  fileWrite: 16,
  fileClose: 20,
  renamePath: 24,
} as const;

/** libimobiledevice's afc_error_t numbers for the answers that matter here. */
export const AFC_ERROR = { success: 0, unknown: 1, objectNotFound: 8, objectIsDirectory: 9, permissionDenied: 10, objectExists: 16 } as const;

/** fopen-like modes: 1 r, 3 w (create and truncate). */
const MODE_READ = 1;
const MODE_WRITE = 3;

/** An AFC operation the device answered with an error status. */
export class AfcError extends HostError {
  constructor(
    readonly code: number,
    readonly operation: string,
  ) {
    super('device-unavailable', `${operation} failed on the device (AFC error ${code}${code === AFC_ERROR.objectNotFound ? ': not found' : code === AFC_ERROR.permissionDenied ? ': permission denied' : ''})`);
  }
}

interface AfcReply {
  operation: number;
  /** Header data and payload together: replies put their result in either. */
  data: Buffer;
}

/** The Apple File Conduit protocol, rooted where house_arrest vended it (the app's container). */
export class AfcClient {
  private packet = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly stream: Duplex,
    private readonly what: string,
    /** The deadline of each request: past it, the connection is closed. */
    private readonly timeoutMs: number,
  ) {}

  /** File facts as AFC reports them (`st_ifmt`, `st_size`, …). */
  async fileInfo(path: string): Promise<Map<string, string>> {
    const reply = await this.call(AFC_OP.getFileInfo, cString(path), undefined, `reading the file info of ${path}`);
    const parts = reply.data.toString('utf8').split('\0');
    const info = new Map<string, string>();
    for (let i = 0; i + 1 < parts.length; i += 2) info.set(parts[i]!, parts[i + 1]!);
    return info;
  }

  /** Reads a regular file of at most `maxBytes` (a link or anything else in its place is refused). */
  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const info = await this.fileInfo(path);
    const type = info.get('st_ifmt');
    if (type !== 'S_IFREG') throw new HostError('destination-refused', `${path} on the device is not a regular file (${type ?? 'unknown type'}).`);
    if (Number(info.get('st_size') ?? 0) > maxBytes) throw new HostError('destination-refused', `${path} on the device is larger than ${maxBytes} bytes.`);
    const handle = await this.open(path, MODE_READ);
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const args = Buffer.alloc(16);
        args.writeBigUInt64LE(handle, 0);
        args.writeBigUInt64LE(BigInt(Math.min(CHUNK_BYTES, maxBytes + 1 - total)), 8);
        const reply = await this.call(AFC_OP.fileRead, args, undefined, `reading ${path}`);
        if (reply.data.length === 0) break;
        chunks.push(reply.data);
        total += reply.data.length;
        if (total > maxBytes) throw new HostError('destination-refused', `${path} on the device is larger than ${maxBytes} bytes.`);
      }
      return Buffer.concat(chunks);
    } finally {
      await this.close(handle).catch(() => undefined);
    }
  }

  /** Creates or truncates `path` and writes `data` into it. */
  async writeFile(path: string, data: Buffer): Promise<void> {
    const handle = await this.open(path, MODE_WRITE);
    try {
      for (let offset = 0; offset < data.length || offset === 0; offset += CHUNK_BYTES) {
        const args = Buffer.alloc(8);
        args.writeBigUInt64LE(handle, 0);
        await this.call(AFC_OP.fileWrite, args, data.subarray(offset, offset + CHUNK_BYTES), `writing ${path}`);
        if (data.length === 0) break;
      }
    } finally {
      await this.close(handle).catch(() => undefined);
    }
  }

  /** Renames `from` to `to`, replacing what is at `to` (rename(2) on the device). */
  async rename(from: string, to: string): Promise<void> {
    await this.call(AFC_OP.renamePath, Buffer.concat([cString(from), cString(to)]), undefined, `renaming ${from} to ${to}`);
  }

  async remove(path: string): Promise<void> {
    await this.call(AFC_OP.removePath, cString(path), undefined, `removing ${path}`);
  }

  end(): void {
    this.stream.destroy();
  }

  private async open(path: string, mode: number): Promise<bigint> {
    const args = Buffer.alloc(8);
    args.writeBigUInt64LE(BigInt(mode), 0);
    const reply = await this.call(AFC_OP.fileOpen, Buffer.concat([args, cString(path)]), undefined, `opening ${path}`);
    if (reply.operation !== AFC_OP.fileOpenResult || reply.data.length < 8) throw new HostError('protocol-invalid', `${this.what} answered opening ${path} without a file handle.`);
    return reply.data.readBigUInt64LE(0);
  }

  private async close(handle: bigint): Promise<void> {
    const args = Buffer.alloc(8);
    args.writeBigUInt64LE(handle, 0);
    await this.call(AFC_OP.fileClose, args, undefined, 'closing a file');
  }

  /** One request, one reply; calls are serialised because AFC answers in order on one stream. */
  private call(operation: number, headerData: Buffer, payload: Buffer | undefined, doing: string): Promise<AfcReply> {
    const run = (): Promise<AfcReply> => withDeadline([this.stream], this.timeoutMs, `${this.what} (${doing})`, async () => {
      const body = payload ?? Buffer.alloc(0);
      const header = Buffer.alloc(HEADER_BYTES);
      MAGIC.copy(header, 0);
      header.writeBigUInt64LE(BigInt(HEADER_BYTES + headerData.length + body.length), 8);
      header.writeBigUInt64LE(BigInt(HEADER_BYTES + headerData.length), 16);
      header.writeBigUInt64LE(BigInt(this.packet++), 24);
      header.writeBigUInt64LE(BigInt(operation), 32);
      this.stream.write(Buffer.concat([header, headerData, body]));
      const reply = await this.receive();
      if (reply.operation === AFC_OP.status) {
        const code = reply.data.length >= 8 ? Number(reply.data.readBigUInt64LE(0)) : AFC_ERROR.unknown;
        if (code !== AFC_ERROR.success) throw new AfcError(code, doing);
      }
      return reply;
    });
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async receive(): Promise<AfcReply> {
    const header = await readExactly(this.stream, HEADER_BYTES, this.what);
    if (!header.subarray(0, 8).equals(MAGIC)) throw new HostError('protocol-invalid', `${this.what} did not answer in AFC.`);
    const entire = Number(header.readBigUInt64LE(8));
    const own = Number(header.readBigUInt64LE(16));
    if (entire < HEADER_BYTES || own < HEADER_BYTES || own > entire || entire > MAX_REPLY_BYTES) {
      this.stream.destroy();
      throw new HostError('protocol-invalid', `${this.what} sent an AFC packet of ${entire} bytes; sonarhost reads at most ${MAX_REPLY_BYTES}.`);
    }
    const data = await readExactly(this.stream, entire - HEADER_BYTES, this.what);
    return { operation: Number(header.readBigUInt64LE(32)), data };
  }
}

function cString(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
}
