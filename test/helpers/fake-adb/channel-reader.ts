// Reads exact byte counts from an ADB stream (for framed protocols such as sync). Incoming WRTEs are
// acknowledged at once and buffered; a read waits until enough bytes arrived or the stream closed.

import { type AdbChannel } from './adb-channel.js';

export class ChannelReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(channel: AdbChannel) {
    channel.attach({
      onData: (data) => {
        this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
        this.wake?.();
      },
      onClose: () => {
        this.ended = true;
        this.wake?.();
      },
    });
  }

  /** Exactly `length` bytes, or undefined when the stream closed first. */
  async read(length: number): Promise<Buffer | undefined> {
    while (this.buffer.length < length) {
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    const out = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return out;
  }
}
