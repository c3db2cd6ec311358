import { describeError } from '../../core/host-error.js';
import { AfcClient } from './afc-client.js';
import { IosDeviceError, type IosDeviceState, notDevelopmentSigned, notPaired, unreachable } from './ios-device-error.js';
import { LockdownClient, upgradeToTls } from './lockdown-client.js';
import { PlistStream } from './plist-stream.js';
import { type UsbmuxDevice, connectToDevice, readPairRecord } from './usbmux-client.js';
import { type UsbmuxAddress } from './usbmux-address.js';

export const HOUSE_ARREST = 'com.apple.mobile.house_arrest';

/**
 * The app's data container on a phone, as an AFC client rooted there: pair record → lockdown session
 * (TLS) → house_arrest → VendContainer. Only development-signed apps can be vended.
 */
export async function openAppContainer(address: UsbmuxAddress, device: UsbmuxDevice, bundleId: string, timeoutMs: number): Promise<AfcClient> {
  const pair = await readPairRecord(address, device.udid, timeoutMs);
  if (!pair) throw notPaired(device.udid);
  const lockdown = await LockdownClient.open(address, device, pair, timeoutMs);
  let service: { port: number; ssl: boolean };
  try {
    service = await lockdown.startService(HOUSE_ARREST);
  } finally {
    lockdown.close();
  }
  const connected = await connectToDevice(address, device.deviceId, service.port, timeoutMs);
  if ('refused' in connected) throw unreachable(device.udid, `house_arrest did not accept a connection (usbmux result ${connected.refused})`);
  try {
    const what = `house_arrest on ${device.udid}`;
    const stream = service.ssl ? await upgradeToTls(connected.socket, pair, timeoutMs, what) : connected.socket;
    const plist = new PlistStream(stream, what, timeoutMs);
    const reply = await plist.request({ Command: 'VendContainer', Identifier: bundleId });
    if (reply.Error === 'InstallationLookupFailed') throw notDevelopmentSigned(device.udid, bundleId);
    if (typeof reply.Error === 'string') throw unreachable(device.udid, `house_arrest refused the container of ${bundleId}: ${reply.Error}`);
    if (reply.Status !== 'Complete') throw unreachable(device.udid, `house_arrest answered VendContainer with ${JSON.stringify(reply.Status)}`);
    return new AfcClient(stream, `AFC on ${device.udid}`, timeoutMs);
  } catch (error) {
    connected.socket.destroy();
    throw error;
  }
}

export interface DeviceProbe {
  state: 'ready' | IosDeviceState;
  name?: string;
  details: Record<string, string>;
  problem?: string;
}

/** What a phone looks like to this computer right now: paired, locked, its name and iOS version. */
export async function probeDevice(address: UsbmuxAddress, device: UsbmuxDevice, timeoutMs: number): Promise<DeviceProbe> {
  const details: Record<string, string> = { connection: device.connectionType };
  let name: string | undefined;
  try {
    const pair = await readPairRecord(address, device.udid, timeoutMs);
    if (!pair) throw notPaired(device.udid);
    const lockdown = await LockdownClient.open(address, device, pair, timeoutMs);
    try {
      const value = await lockdown.getValue('DeviceName');
      if (typeof value === 'string') name = value;
      for (const [key, label] of [['ProductType', 'model'], ['ProductVersion', 'iOS']] as const) {
        const fact = await lockdown.getValue(key);
        if (typeof fact === 'string') details[label] = fact;
      }
      // A locked phone still opens sessions; starting the service the exchange needs tells.
      await lockdown.startService(HOUSE_ARREST);
      return { state: 'ready', name, details };
    } finally {
      lockdown.close();
    }
  } catch (error) {
    const state = error instanceof IosDeviceError ? error.state : 'unreachable';
    return { state, name, details, problem: describeError(error) };
  }
}
