import * as net from 'node:net';
import { type Duplex } from 'node:stream';
import { HostError } from '../../core/host-error.js';
import { type PlistDict, bytesField, decodePlist, encodePlist } from './plist-codec.js';
import { withDeadline } from './device-deadline.js';
import { readExactly } from './socket-reader.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, type UsbmuxAddress, describeUsbmuxAddress } from './usbmux-address.js';

const HEADER_BYTES = 16;
const PLIST_VERSION = 1;
const PLIST_MESSAGE = 8;
/** usbmuxd's own replies are small; a device list of a few dozen phones stays far below this. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * Replies carrying another request's tag that one request tolerates before it closes the connection.
 * Each connection carries one request at a time, so a real usbmuxd sends none; a peer that floods them
 * would otherwise keep the request reading (and the host decoding) forever.
 */
export const MAX_UNRELATED_REPLIES = 16;
const CLIENT = { ClientVersionString: 'sonarhost', ProgName: 'sonarhost', kLibUSBMuxVersion: 3 };
/** usbmuxd's result codes. */
export const USBMUX_RESULT = { ok: 0, badCommand: 1, badDevice: 2, connectionRefused: 3, badVersion: 6 } as const;

export interface UsbmuxDevice {
  /** usbmuxd's handle, new for each attach. */
  deviceId: number;
  /** The device's UDID (its serial number). */
  udid: string;
  /** `USB` or `Network` (Wi-Fi sync). */
  connectionType: string;
}

/** What the host needs from a pair record: who it is to the phone and how it proves it. */
export interface PairRecord {
  hostId: string;
  systemBuid: string;
  hostCertificate: Buffer;
  hostPrivateKey: Buffer;
  deviceCertificate?: Buffer;
}

export type UsbmuxConnectResult = { socket: Duplex } | { refused: number };

/** One connection to usbmuxd, speaking its plist protocol (version 1). */
export class UsbmuxConnection {
  private tag = 0;

  private constructor(
    readonly socket: net.Socket,
    private readonly address: UsbmuxAddress,
    /** The deadline of each request (and of connecting). */
    readonly timeoutMs: number,
  ) {}

  static async open(address: UsbmuxAddress, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<UsbmuxConnection> {
    const socket = 'path' in address ? net.connect(address.path) : net.connect(address.port, address.host);
    socket.pause();
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
        timer = setTimeout(() => reject(Object.assign(new Error(`connecting took longer than ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
      });
    } catch (error) {
      socket.destroy();
      throw usbmuxdUnreachable(address, error);
    } finally {
      clearTimeout(timer);
    }
    socket.on('error', () => undefined); // surfaced by the reads and writes that meet it
    return new UsbmuxConnection(socket, address, timeoutMs);
  }

  /**
   * Sends a request and waits for the reply that carries its tag, within the deadline; more than
   * MAX_UNRELATED_REPLIES replies with other tags close the connection.
   */
  async request(message: PlistDict): Promise<PlistDict> {
    const tag = ++this.tag;
    const what = `usbmuxd at ${describeUsbmuxAddress(this.address)}`;
    return withDeadline([this.socket], this.timeoutMs, `${what} (${String(message.MessageType)})`, async () => {
      this.send(message, tag);
      for (let unrelated = 0; ; unrelated++) {
        const { tag: replyTag, body } = await this.receive();
        if (replyTag === tag) return body;
        if (unrelated >= MAX_UNRELATED_REPLIES) {
          this.close();
          throw new HostError('protocol-invalid', `${what} sent more than ${MAX_UNRELATED_REPLIES} replies to requests never made (tags other than ${tag}); sonarhost closed the connection.`);
        }
      }
    });
  }

  /** Reads the next message (Listen's Attached/Detached arrive untagged). */
  async receive(): Promise<{ tag: number; body: PlistDict }> {
    const what = `usbmuxd at ${describeUsbmuxAddress(this.address)}`;
    const header = await readExactly(this.socket, HEADER_BYTES, what);
    const length = header.readUInt32LE(0);
    const version = header.readUInt32LE(4);
    if (version !== PLIST_VERSION || length < HEADER_BYTES || length > MAX_MESSAGE_BYTES) {
      this.close();
      throw new HostError('protocol-invalid', `${what} sent a message sonarhost does not understand (version ${version}, ${length} bytes).`);
    }
    const body = decodePlist(await readExactly(this.socket, length - HEADER_BYTES, what), what);
    return { tag: header.readUInt32LE(12), body };
  }

  close(): void {
    this.socket.destroy();
  }

  private send(message: PlistDict, tag: number): void {
    const body = encodePlist({ ...message, ...CLIENT });
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(HEADER_BYTES + body.length, 0);
    header.writeUInt32LE(PLIST_VERSION, 4);
    header.writeUInt32LE(PLIST_MESSAGE, 8);
    header.writeUInt32LE(tag, 12);
    this.socket.write(Buffer.concat([header, body]));
  }
}

/** The USB-attached devices (Wi-Fi entries are left out: the forwarder and house_arrest use USB). */
export async function listUsbDevices(address: UsbmuxAddress, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<UsbmuxDevice[]> {
  const connection = await UsbmuxConnection.open(address, timeoutMs);
  try {
    const reply = await connection.request({ MessageType: 'ListDevices' });
    const list = Array.isArray(reply.DeviceList) ? (reply.DeviceList as unknown[]) : [];
    return list.map(deviceOf).filter((d): d is UsbmuxDevice => d !== undefined && d.connectionType === 'USB');
  } finally {
    connection.close();
  }
}

/** The pair record usbmuxd keeps for a UDID, or undefined when this computer is not paired with it. */
export async function readPairRecord(address: UsbmuxAddress, udid: string, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<PairRecord | undefined> {
  const connection = await UsbmuxConnection.open(address, timeoutMs);
  try {
    const reply = await connection.request({ MessageType: 'ReadPairRecord', PairRecordID: udid });
    const data = bytesField(reply, 'PairRecordData');
    if (!data) return undefined;
    const record = decodePlist(data, `the pair record of ${udid}`);
    const hostCertificate = bytesField(record, 'HostCertificate');
    const hostPrivateKey = bytesField(record, 'HostPrivateKey');
    if (typeof record.HostID !== 'string' || !hostCertificate || !hostPrivateKey) return undefined;
    return {
      hostId: record.HostID,
      systemBuid: typeof record.SystemBUID === 'string' ? record.SystemBUID : '',
      hostCertificate,
      hostPrivateKey,
      deviceCertificate: bytesField(record, 'DeviceCertificate'),
    };
  } finally {
    connection.close();
  }
}

/** usbmux Connect: on success the usbmuxd socket becomes a byte pipe to `port` on the device. */
export async function connectToDevice(address: UsbmuxAddress, deviceId: number, port: number, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<UsbmuxConnectResult> {
  const connection = await UsbmuxConnection.open(address, timeoutMs);
  try {
    // usbmuxd wants the port in network byte order inside the plist integer.
    const reply = await connection.request({ MessageType: 'Connect', DeviceID: deviceId, PortNumber: htons(port) });
    const result = typeof reply.Number === 'number' ? reply.Number : -1;
    if (result !== USBMUX_RESULT.ok) {
      connection.close();
      return { refused: result };
    }
    return { socket: connection.socket };
  } catch (error) {
    connection.close();
    throw error;
  }
}

export interface UsbmuxListener {
  onAttached(device: UsbmuxDevice): void;
  onDetached(deviceId: number): void;
}

/**
 * usbmux Listen: reports attach and detach until the returned connection closes. Resolves once usbmuxd
 * accepted the subscription (within the deadline); `closed` settles when the connection ends (usbmuxd
 * restarted or stopped, or it sent more than MAX_UNRELATED_REPLIES messages that are not device news).
 */
export async function listen(
  address: UsbmuxAddress,
  listener: UsbmuxListener,
  timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<{ connection: UsbmuxConnection; closed: Promise<void> }> {
  const connection = await UsbmuxConnection.open(address, timeoutMs);
  // Stopping the host must not wait for a usbmuxd that is slow to accept the subscription.
  const abort = () => connection.close();
  signal?.addEventListener('abort', abort, { once: true });
  connection.socket.once('close', () => signal?.removeEventListener('abort', abort));
  if (signal?.aborted) connection.close();
  try {
    const reply = await connection.request({ MessageType: 'Listen' });
    if (reply.Number !== USBMUX_RESULT.ok) throw new HostError('device-unavailable', `usbmuxd refused to report devices (result ${String(reply.Number)}).`);
  } catch (error) {
    connection.close();
    throw error;
  }
  const closed = (async () => {
    let unrelated = 0;
    for (;;) {
      let tag: number;
      let body: PlistDict;
      try {
        ({ tag, body } = await connection.receive());
      } catch {
        return;
      }
      if (tag === 0 && body.MessageType === 'Attached') {
        const device = deviceOf(body);
        if (device) listener.onAttached(device);
      } else if (tag === 0 && body.MessageType === 'Detached' && typeof body.DeviceID === 'number') {
        listener.onDetached(body.DeviceID);
      } else if (tag !== 0 || body.MessageType !== 'Paired') {
        // Replies to nothing: a real usbmuxd sends none on a Listen connection (Paired is news too).
        if (++unrelated > MAX_UNRELATED_REPLIES) {
          connection.close();
          return;
        }
      }
    }
  })();
  return { connection, closed };
}

export function htons(port: number): number {
  return ((port & 0xff) << 8) | ((port >> 8) & 0xff);
}

function deviceOf(entry: unknown): UsbmuxDevice | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const { DeviceID, Properties } = entry as { DeviceID?: unknown; Properties?: Record<string, unknown> };
  if (typeof DeviceID !== 'number' || typeof Properties !== 'object' || Properties === null) return undefined;
  const udid = Properties.SerialNumber;
  if (typeof udid !== 'string' || udid === '') return undefined;
  return { deviceId: DeviceID, udid, connectionType: typeof Properties.ConnectionType === 'string' ? Properties.ConnectionType : 'USB' };
}

/**
 * usbmuxd cannot be reached. The message says whether it is missing or stopped and how to get it (for
 * an exchange that failed, and `doctor`); `brief` is the one-line state for lists (`devices`, the
 * dashboard), since most hosts serve no iPhone and the advice would crowd out everything else.
 */
export class UsbmuxdUnreachable extends HostError {
  constructor(
    message: string,
    readonly brief: string,
    options: { cause?: unknown },
  ) {
    super('device-unavailable', message, options);
  }
}

/** usbmuxd cannot be reached: say whether it is missing or stopped, and how to get it. */
export function usbmuxdUnreachable(address: UsbmuxAddress, error: unknown): UsbmuxdUnreachable {
  const code = (error as NodeJS.ErrnoException).code;
  const where = describeUsbmuxAddress(address);
  const why =
    code === 'ENOENT' ? `there is no usbmuxd socket at ${where}` : code === 'ECONNREFUSED' ? `nothing accepts connections at ${where}` : code === 'EACCES' ? `${where} is not accessible to this user` : `${where}: ${(error as Error).message}`;
  const getIt = process.platform === 'darwin' ? 'plug one in' : 'sudo apt install usbmuxd';
  const brief = code === 'EACCES' ? `usbmuxd is not accessible (${where}): iPhones and iPads over USB are off (sonarhost doctor says why)` : `usbmuxd is not running: iPhones and iPads over USB are off — ${getIt} (sonarhost doctor says more)`;
  return new UsbmuxdUnreachable(
    `usbmuxd is not running (${why}), so sonarhost cannot reach iPhones or iPads over USB. ` +
      'On macOS it is part of the system (plug the device in; `sudo launchctl kickstart -k system/com.apple.usbmuxd` restarts it); ' +
      'on Linux install and start it (`sudo apt install usbmuxd`, then plug the device in or run `sudo systemctl start usbmuxd`). ' +
      `If it listens elsewhere, set USBMUXD_SOCKET_ADDRESS ("unix:/path" or "host:port") or pluginOptions["ios-physical"].usbmuxdSocket.`,
    brief,
    { cause: error },
  );
}
