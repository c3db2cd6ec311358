import { hostname } from 'node:os';
import { type AppSession } from '../../core/app-session.js';
import { CertificateExchangeMedium } from '../../core/client-query.js';
import { type DeviceSummary } from '../../core/device-transport.js';

/** A device as Flipper's UI sees it (flipper-common's DeviceDescription). */
export interface DeviceDescription {
  serial: string;
  title: string;
  os: string;
  deviceType: 'physical' | 'emulator' | 'dummy';
  features: { screenshotAvailable: boolean; screenCaptureAvailable: boolean };
}

/** A connected app as Flipper's UI sees it (flipper-common's ClientDescription). */
export interface ClientDescription {
  id: string;
  query: { app: string; app_id: string; os: string; device: string; device_id: string; sdk_version: number; medium: 'FS_ACCESS' | 'WWW' | 'NONE' };
}

/** Transport states in which a device can run apps; others (offline, unauthorized, Shutdown, gone) are not shown. */
const USABLE_STATES = new Set(['device', 'emulator', 'booted', 'ready', 'connected', 'attached']);

/**
 * Desktop apps get "" as their device id (as upstream); Flipper's UI needs a real serial to file them
 * under, so "this computer" is listed by its host name and its apps point there.
 */
export const THIS_COMPUTER_SERIAL = hostname() || 'this-computer';

export function isUsable(summary: DeviceSummary): boolean {
  return USABLE_STATES.has(summary.state.toLowerCase());
}

/** The serial Flipper's UI files a client under. */
export function serialOf(session: Pick<AppSession, 'query'>): string {
  return session.query.deviceId === '' ? THIS_COMPUTER_SERIAL : session.query.deviceId;
}

export function describeDevice(summary: DeviceSummary, canScreenshot: boolean): DeviceDescription {
  return {
    serial: summary.id === '' ? THIS_COMPUTER_SERIAL : summary.id,
    title: summary.name,
    os: summary.os ?? guessOs(summary.transport),
    deviceType: summary.deviceType ?? (summary.transport.includes('simulator') ? 'emulator' : 'physical'),
    features: { screenshotAvailable: canScreenshot && summary.features?.screenshot !== false, screenCaptureAvailable: false },
  };
}

/**
 * The device of an app no transport listed (a js-flipper page or Node process on the browser port,
 * or a transport without `listDevices`): browser-port clients are Flipper's `dummy` devices, as upstream.
 */
export function deviceOfClient(session: AppSession): DeviceDescription {
  const serial = serialOf(session);
  const dummy = session.query.medium === CertificateExchangeMedium.NONE;
  return {
    serial,
    title: serial === THIS_COMPUTER_SERIAL ? 'this computer' : session.query.device,
    os: session.query.os,
    deviceType: dummy ? 'dummy' : 'physical',
    features: { screenshotAvailable: false, screenCaptureAvailable: false },
  };
}

export function describeClient(session: AppSession): ClientDescription {
  const { query } = session;
  return {
    id: session.id,
    query: { app: query.app, app_id: session.appId, os: query.os, device: query.device, device_id: serialOf(session), sdk_version: query.sdkVersion, medium: mediumName(query.medium) },
  };
}

function mediumName(medium: CertificateExchangeMedium): ClientDescription['query']['medium'] {
  return medium === CertificateExchangeMedium.NONE ? 'NONE' : medium === CertificateExchangeMedium.WWW ? 'WWW' : 'FS_ACCESS';
}

function guessOs(transport: string): string {
  if (transport.startsWith('android')) return 'Android';
  if (transport.startsWith('ios')) return 'iOS';
  return process.platform === 'darwin' ? 'MacOS' : process.platform === 'win32' ? 'Windows' : 'Linux';
}
