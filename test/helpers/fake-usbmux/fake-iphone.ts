import { once } from 'node:events';
import type * as net from 'node:net';
import { type Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { parse, stringify } from 'simple-plist';
import { ByteQueue } from './byte-queue.js';
import { type AfcLogEntry, serveAfc } from './fake-afc.js';
import { type FakeUsbDevice } from './fake-usbmuxd.js';
import { type PairingMaterial, certificateDer, pairRecordPlist } from './pair-record.js';

type Plist = Record<string, unknown>;

export interface FakeApp {
  /** The folder playing the app's data container (what house_arrest vends). */
  container: string;
  /** Only development-signed apps can be vended (others: InstallationLookupFailed). */
  developmentSigned: boolean;
}

const LOCKDOWN_PORT = 62078;
const HOUSE_ARREST = 'com.apple.mobile.house_arrest';

/**
 * An iPhone behind the fake usbmuxd: lockdownd on 62078 (4-byte big-endian framed plists; StartSession
 * checks the HostID, then the same socket turns into TLS and only the paired host certificate is let
 * in), StartService for house_arrest (refused with PasswordProtected while locked), house_arrest's
 * VendContainer (development-signed apps only) followed by AFC in the container, and FlipperKit's
 * Peertalk channel ports when an app with port forwarding runs (`FakePeertalkApp`).
 */
export class FakeIphone implements FakeUsbDevice {
  readonly connectionType: 'USB' | 'Network';
  readonly apps = new Map<string, FakeApp>();
  readonly afcLog: AfcLogEntry[] = [];
  readonly lockdownLog: string[] = [];
  /** Whether this computer's pair record exists in usbmuxd (the user tapped Trust). */
  paired = true;
  /** Whether the phone still accepts that pairing (false after "Reset Location & Privacy"). */
  trustsHost = true;
  locked = false;
  private readonly services = new Map<number, string>();
  private readonly channelPorts = new Map<number, (socket: Duplex) => void>();
  private readonly sockets = new Set<Duplex>();
  private nextServicePort = 49152;

  constructor(
    readonly udid: string,
    readonly name: string,
    readonly pairing: PairingMaterial,
    options: { connectionType?: 'USB' | 'Network' } = {},
  ) {
    this.connectionType = options.connectionType ?? 'USB';
  }

  pairRecord(): Buffer | undefined {
    return this.paired ? pairRecordPlist(this.pairing) : undefined;
  }

  /** Lets a Peertalk listener (the app's port forwarding) take connections on a device port. */
  listenOn(port: number, take: (socket: Duplex) => void): void {
    this.channelPorts.set(port, take);
  }

  stopListening(port: number): void {
    this.channelPorts.delete(port);
  }

  listens(port: number): boolean {
    return port === LOCKDOWN_PORT || this.services.has(port) || this.channelPorts.has(port);
  }

  accept(port: number, socket: Duplex): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    if (port === LOCKDOWN_PORT) void this.lockdown(socket);
    else if (this.services.has(port)) {
      this.services.delete(port); // a started service takes one connection
      void this.houseArrest(socket);
    } else this.channelPorts.get(port)!(socket);
  }

  /** Unplugging cuts every connection to the phone. */
  disconnectAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private async lockdown(raw: Duplex): Promise<void> {
    let queue = new ByteQueue(raw);
    let stream: Duplex = raw;
    let session = false;
    for (;;) {
      const request = await readPlist(queue);
      if (!request) return;
      const kind = String(request.Request);
      this.lockdownLog.push(kind);
      if (kind === 'QueryType') {
        writePlist(stream, { Request: kind, Type: 'com.apple.mobile.lockdown' });
      } else if (kind === 'GetValue') {
        const values: Plist = { DeviceName: this.name, ProductType: 'iPhone14,5', ProductVersion: '17.5.1', UniqueDeviceID: this.udid };
        const value = values[String(request.Key)];
        writePlist(stream, value === undefined ? { Request: kind, Error: 'MissingValue' } : { Request: kind, Key: request.Key, Value: value });
      } else if (kind === 'StartSession') {
        if (!this.trustsHost || request.HostID !== this.pairing.hostId) {
          writePlist(stream, { Request: kind, Error: 'InvalidHostID' });
          continue;
        }
        writePlist(stream, { Request: kind, SessionID: 'FAKE-SESSION', EnableSessionSSL: true });
        const rest = queue.detach();
        if (rest.length > 0) throw new Error('the host sent bytes before the TLS handshake');
        const secure = new tls.TLSSocket(raw as net.Socket, {
          isServer: true,
          key: this.pairing.devicePrivateKey,
          cert: this.pairing.deviceCertificate,
          requestCert: true,
          rejectUnauthorized: false,
        });
        secure.on('error', () => undefined);
        await Promise.race([once(secure, 'secure'), once(secure, 'close')]);
        // The phone lets in only the host certificate it stored when the user tapped Trust.
        const presented = secure.getPeerCertificate()?.raw;
        if (!presented || !presented.equals(certificateDer(this.pairing.hostCertificate))) {
          this.lockdownLog.push('TLS refused');
          secure.destroy();
          return;
        }
        this.lockdownLog.push('TLS');
        stream = secure;
        queue = new ByteQueue(secure);
        session = true;
      } else if (kind === 'StartService') {
        if (!session) writePlist(stream, { Request: kind, Error: 'SessionInactive' });
        else if (this.locked) writePlist(stream, { Request: kind, Error: 'PasswordProtected' });
        else if (request.Service !== HOUSE_ARREST) writePlist(stream, { Request: kind, Error: 'InvalidService' });
        else {
          const port = this.nextServicePort++;
          this.services.set(port, HOUSE_ARREST);
          writePlist(stream, { Request: kind, Service: HOUSE_ARREST, Port: port, EnableServiceSSL: false });
        }
      } else {
        writePlist(stream, { Request: kind, Error: 'InvalidRequest' });
      }
    }
  }

  private async houseArrest(socket: Duplex): Promise<void> {
    const queue = new ByteQueue(socket);
    const request = await readPlist(queue);
    if (!request) return;
    const app = this.apps.get(String(request.Identifier));
    if (request.Command !== 'VendContainer' || !app || !app.developmentSigned) {
      writePlist(socket, { Error: request.Command === 'VendContainer' ? 'InstallationLookupFailed' : 'UnknownCommand' });
      return;
    }
    writePlist(socket, { Status: 'Complete' });
    const rest = queue.detach();
    if (rest.length > 0) socket.unshift(rest);
    serveAfc(socket, app.container, this.afcLog);
  }
}

async function readPlist(queue: ByteQueue): Promise<Plist | undefined> {
  const length = await queue.take(4);
  if (!length) return undefined;
  const body = await queue.take(length.readUInt32BE(0));
  return body ? (parse(body) as Plist) : undefined;
}

function writePlist(stream: Duplex, message: Plist): void {
  const body = Buffer.from(stringify(message), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length, 0);
  if (!stream.destroyed) stream.write(Buffer.concat([length, body]));
}
