// The ADB transport message codec: what travels between the adb server and adbd over TCP (or USB).
// Each message is a 24-byte little-endian header followed by `dataLength` bytes of payload:
//   command, arg0, arg1, dataLength, dataChecksum (sum of payload bytes), magic (command ^ 0xffffffff).
// adb 29 negotiates version 0x01000001 and then ignores checksums; we still compute them so an older
// server (or a stricter test) would accept our messages.

export const A_SYNC = 0x434e5953;
export const A_CNXN = 0x4e584e43;
export const A_AUTH = 0x48545541;
export const A_OPEN = 0x4e45504f;
export const A_OKAY = 0x59414b4f;
export const A_CLSE = 0x45534c43;
export const A_WRTE = 0x45545257;
export const A_STLS = 0x534c5453;

/** Protocol version adb 29 speaks (A_VERSION_SKIP_CHECKSUM). */
export const A_VERSION = 0x01000001;

/** AUTH arg0 values. */
export const AUTH_TOKEN = 1;
export const AUTH_SIGNATURE = 2;
export const AUTH_RSAPUBLICKEY = 3;

export const HEADER_LENGTH = 24;

export interface AdbMessage {
  command: number;
  arg0: number;
  arg1: number;
  data: Buffer;
}

const NAMES: Record<number, string> = {
  [A_SYNC]: 'SYNC', [A_CNXN]: 'CNXN', [A_AUTH]: 'AUTH', [A_OPEN]: 'OPEN',
  [A_OKAY]: 'OKAY', [A_CLSE]: 'CLSE', [A_WRTE]: 'WRTE', [A_STLS]: 'STLS',
};

/** Four-letter name of a command, for debug output and error messages. */
export function commandName(command: number): string {
  return NAMES[command] ?? `0x${command.toString(16).padStart(8, '0')}`;
}

function checksum(data: Buffer): number {
  let sum = 0;
  for (const byte of data) sum = (sum + byte) >>> 0;
  return sum;
}

export function encodeMessage(message: AdbMessage): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt32LE(message.command >>> 0, 0);
  header.writeUInt32LE(message.arg0 >>> 0, 4);
  header.writeUInt32LE(message.arg1 >>> 0, 8);
  header.writeUInt32LE(message.data.length, 12);
  header.writeUInt32LE(checksum(message.data), 16);
  header.writeUInt32LE((message.command ^ 0xffffffff) >>> 0, 20);
  return message.data.length === 0 ? header : Buffer.concat([header, message.data]);
}

/**
 * Incremental decoder: feed it socket chunks, get whole messages back. Throws on a bad magic or a
 * payload above `maxPayload`, which a caller treats like adbd does: drop the connection.
 */
export class MessageDecoder {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPayload: number) {}

  push(chunk: Buffer): AdbMessage[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const messages: AdbMessage[] = [];
    while (this.buffer.length >= HEADER_LENGTH) {
      const command = this.buffer.readUInt32LE(0);
      const dataLength = this.buffer.readUInt32LE(12);
      const magic = this.buffer.readUInt32LE(20);
      if (magic !== (command ^ 0xffffffff) >>> 0) throw new Error(`bad ADB message magic for ${commandName(command)}`);
      if (dataLength > this.maxPayload) throw new Error(`ADB payload of ${dataLength} bytes exceeds ${this.maxPayload}`);
      if (this.buffer.length < HEADER_LENGTH + dataLength) break;
      messages.push({
        command,
        arg0: this.buffer.readUInt32LE(4),
        arg1: this.buffer.readUInt32LE(8),
        // Copy: the caller may keep the payload while the buffer is reused.
        data: Buffer.from(this.buffer.subarray(HEADER_LENGTH, HEADER_LENGTH + dataLength)),
      });
      this.buffer = this.buffer.subarray(HEADER_LENGTH + dataLength);
    }
    return messages;
  }
}
