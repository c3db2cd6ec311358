/** Peertalk's frame: a 16-byte big-endian header {version, type, tag, payload size}, then the payload. */
export const PEERTALK_HEADER_BYTES = 16;
export const PEERTALK_VERSION = 1;
export const PEERTALK_TYPE = { openPipe: 201, data: 202, closePipe: 203 } as const;

export function encodePeertalkHeader(type: number, tag: number, size: number): Buffer {
  const header = Buffer.alloc(PEERTALK_HEADER_BYTES);
  header.writeUInt32BE(PEERTALK_VERSION, 0);
  header.writeUInt32BE(type, 4);
  header.writeUInt32BE(tag, 8);
  header.writeUInt32BE(size, 12);
  return header;
}

export interface PeertalkHandlers {
  /** A frame's header arrived (its payload, if any, follows through `onPayload`). */
  onFrame(type: number, tag: number, size: number): void;
  onPayload(type: number, tag: number, bytes: Buffer): void;
}

/**
 * Parses a Peertalk stream without holding whole frames: payload bytes are handed on as they arrive,
 * so a large frame costs no more memory than a small one.
 */
export class PeertalkParser {
  private header = Buffer.alloc(0);
  private current: { type: number; tag: number; remaining: number } | undefined;

  constructor(private readonly handlers: PeertalkHandlers) {}

  /** Feeds bytes; throws on a frame whose version is not 1 (the channel must then end). */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.current) {
        const take = Math.min(this.current.remaining, chunk.length - offset);
        const { type, tag } = this.current;
        this.current.remaining -= take;
        if (this.current.remaining === 0) this.current = undefined;
        this.handlers.onPayload(type, tag, chunk.subarray(offset, offset + take));
        offset += take;
        continue;
      }
      const need = PEERTALK_HEADER_BYTES - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + need)]);
      offset += Math.min(need, chunk.length - offset);
      if (this.header.length < PEERTALK_HEADER_BYTES) return;
      const version = this.header.readUInt32BE(0);
      const type = this.header.readUInt32BE(4);
      const tag = this.header.readUInt32BE(8);
      const size = this.header.readUInt32BE(12);
      this.header = Buffer.alloc(0);
      if (version !== PEERTALK_VERSION) throw new Error(`a Peertalk frame with version ${version} (expected ${PEERTALK_VERSION})`);
      if (size > 0) this.current = { type, tag, remaining: size };
      this.handlers.onFrame(type, tag, size);
    }
  }
}
