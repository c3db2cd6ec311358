// A Node Duplex over a device-initiated ADB stream: what an app on the fake device holds after
// connecting to localhost:<port> when that port is reversed to the host. Flow control maps both
// ways: a write completes when the adb server acknowledged it (OKAY); an incoming WRTE is
// acknowledged only once the reader wants more, so a slow reader slows the host down.
// adb streams cannot half-close: ending the writable side sends CLSE and ends the readable side too;
// a CLSE from the host ends both sides; a lost transport destroys the stream with an error.

import { Duplex } from 'node:stream';
import { type AdbChannel } from './adb-channel.js';

export class DeviceStream extends Duplex {
  private pendingAck: (() => void) | undefined;

  constructor(private readonly channel: AdbChannel) {
    super({ allowHalfOpen: false });
    channel.attach({
      onData: (data) => {
        if (this.push(data)) return undefined;
        return new Promise<void>((resolve) => (this.pendingAck = resolve));
      },
      onClose: (error) => {
        this.wakeReader();
        if (error !== undefined) this.destroy(error);
        else this.push(null);
      },
    });
  }

  override _read(): void {
    this.wakeReader();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.channel.write(chunk).then(() => callback(), (error: Error) => callback(error));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.channel.end().then(() => {
      this.push(null);
      callback();
    }, (error: Error) => callback(error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.wakeReader();
    this.channel.close();
    callback(error);
  }

  private wakeReader(): void {
    const resume = this.pendingAck;
    this.pendingAck = undefined;
    resume?.();
  }
}
