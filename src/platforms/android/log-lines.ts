/**
 * Splits a device's byte stream into UTF-8 lines of at most `maxBytes` bytes each: a longer line is cut
 * there and the rest of it, up to its newline, dropped, so that an app printing one endless line costs
 * this host at most `maxBytes` of memory. Splitting on the byte 0x0a keeps multi-byte characters whole.
 */
export class LogLines {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** True while dropping the rest of an over-long line. */
  private skipping = false;

  constructor(private readonly maxBytes: number) {}

  /** The complete lines in `chunk` (with what came before it), without their newline. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, start)) {
      this.keep(chunk.subarray(start, newline));
      lines.push(this.take());
      start = newline + 1;
    }
    this.keep(chunk.subarray(start));
    return lines;
  }

  /** What is left after the stream ended (a last line without its newline), if anything. */
  flush(): string | undefined {
    const last = this.pendingBytes > 0 ? this.take() : undefined;
    this.skipping = false;
    return last;
  }

  private keep(part: Buffer): void {
    if (this.skipping || part.length === 0) return;
    const room = this.maxBytes - this.pendingBytes;
    if (part.length > room) {
      this.skipping = true;
      part = part.subarray(0, room);
    }
    this.pending.push(part);
    this.pendingBytes += part.length;
  }

  private take(): string {
    const line = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
    return line;
  }
}
