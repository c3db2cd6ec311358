import { once } from 'node:events';
import { type Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { describeError } from '../../core/host-error.js';
import { withDeadline } from './device-deadline.js';
import { locked, pairingRejected, unreachable } from './ios-device-error.js';
import { PlistStream } from './plist-stream.js';
import { type PairRecord, type UsbmuxDevice, connectToDevice } from './usbmux-client.js';
import { type UsbmuxAddress } from './usbmux-address.js';

export const LOCKDOWN_PORT = 62078;
const LABEL = 'sonarhost';

/**
 * Wraps a device socket in TLS as the client, presenting the pair record's host certificate: that is how
 * the phone knows this computer is the one it trusted. The phone's own certificate is not checked
 * (libimobiledevice and appium do not either; the channel is the USB cable through usbmuxd). The pair
 * records Apple's tools create may carry SHA-1 signatures, which OpenSSL 3 refuses at its default level.
 */
export async function upgradeToTls(socket: Duplex, pair: PairRecord, timeoutMs: number, what: string): Promise<tls.TLSSocket> {
  const secure = tls.connect({
    socket,
    cert: pair.hostCertificate,
    key: pair.hostPrivateKey,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    ciphers: 'DEFAULT:@SECLEVEL=0',
  });
  secure.on('error', () => undefined); // surfaced by the reads that meet it
  // Whoever closes the TLS stream closes the device socket below it too.
  secure.once('close', () => socket.destroy());
  try {
    await withDeadline([secure, socket], timeoutMs, `${what} (TLS handshake)`, () =>
      Promise.race([once(secure, 'secureConnect'), once(secure, 'close').then(() => Promise.reject(new Error('the device closed the connection during the TLS handshake')))]),
    );
  } catch (error) {
    secure.destroy();
    socket.destroy();
    throw error;
  }
  return secure;
}

/** A lockdownd session on one device, TLS-protected after StartSession. */
export class LockdownClient {
  private constructor(
    private readonly plist: PlistStream,
    private readonly udid: string,
  ) {}

  /** Connects to lockdownd through usbmux, checks it is lockdownd, and starts a session with the pair record. */
  static async open(address: UsbmuxAddress, device: UsbmuxDevice, pair: PairRecord, timeoutMs: number): Promise<LockdownClient> {
    const connected = await connectToDevice(address, device.deviceId, LOCKDOWN_PORT, timeoutMs);
    if ('refused' in connected) throw unreachable(device.udid, `usbmuxd could not connect to its lockdown service (result ${connected.refused})`);
    const what = `lockdownd on ${device.udid}`;
    const plist = new PlistStream(connected.socket, what, timeoutMs);
    try {
      const type = await plist.request({ Label: LABEL, Request: 'QueryType' });
      if (type.Type !== 'com.apple.mobile.lockdown') throw unreachable(device.udid, `port ${LOCKDOWN_PORT} answered as ${String(type.Type)}, not lockdownd`);
      const session = await plist.request({ Label: LABEL, Request: 'StartSession', HostID: pair.hostId, SystemBUID: pair.systemBuid });
      if (typeof session.Error === 'string') throw sessionError(device.udid, session.Error);
      if (session.EnableSessionSSL === true) {
        try {
          plist.stream = await upgradeToTls(connected.socket, pair, timeoutMs, what);
          // With TLS 1.3 the phone judges our certificate after the client's handshake is done: a
          // first request shows whether it let us in.
          await plist.request({ Label: LABEL, Request: 'GetValue', Key: 'ProductVersion' });
        } catch (error) {
          throw pairingRejected(device.udid, `the TLS session with the pair record's certificate failed: ${describeError(error)}`);
        }
      }
      return new LockdownClient(plist, device.udid);
    } catch (error) {
      plist.close();
      throw error;
    }
  }

  async getValue(key: string): Promise<unknown> {
    const reply = await this.plist.request({ Label: LABEL, Request: 'GetValue', Key: key });
    return reply.Value;
  }

  /** StartService: the device port the service listens on, and whether it wants TLS too. */
  async startService(service: string): Promise<{ port: number; ssl: boolean }> {
    const reply = await this.plist.request({ Label: LABEL, Request: 'StartService', Service: service });
    if (typeof reply.Error === 'string') {
      if (reply.Error === 'PasswordProtected') throw locked(this.udid, `lockdownd refused to start ${service}: PasswordProtected`);
      if (reply.Error === 'InvalidHostID' || reply.Error === 'SessionInactive') throw pairingRejected(this.udid, `lockdownd answered ${reply.Error}`);
      throw unreachable(this.udid, `lockdownd refused to start ${service}: ${reply.Error}`);
    }
    if (typeof reply.Port !== 'number') throw unreachable(this.udid, `lockdownd started ${service} without saying on which port`);
    return { port: reply.Port, ssl: reply.EnableServiceSSL === true };
  }

  close(): void {
    this.plist.close();
  }
}

function sessionError(udid: string, error: string): Error {
  if (error === 'PasswordProtected') return locked(udid, 'lockdownd refused a session: PasswordProtected');
  if (error === 'InvalidHostID' || error === 'PairingDialogResponsePending' || error === 'UserDeniedPairing') return pairingRejected(udid, `lockdownd answered ${error}`);
  return unreachable(udid, `lockdownd refused a session: ${error}`);
}
