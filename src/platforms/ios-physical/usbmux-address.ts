import { type HostConfig } from '../../core/host-config.js';
import { HostError } from '../../core/host-error.js';

export const IOS_PHYSICAL_ID = 'ios-physical';
export const DEFAULT_USBMUXD_SOCKET = '/var/run/usbmuxd';

/** Where usbmuxd listens: a unix socket (macOS, Linux) or a TCP address (Windows, remote setups). */
export type UsbmuxAddress = { path: string } | { host: string; port: number };

/** `pluginOptions["ios-physical"]` in the host config. */
export interface IosPhysicalOptions {
  /** `unix:/path` or `host:port`; default: USBMUXD_SOCKET_ADDRESS, else /var/run/usbmuxd. */
  usbmuxdSocket?: string;
  /** Run the Peertalk port forwarder for attached devices (default true). */
  forwardPorts?: boolean;
  /** How long one request to usbmuxd or a device (lockdown, house_arrest, AFC) may take (default 5000 ms). */
  requestTimeoutMs?: number;
}

/** usbmuxd and lockdownd answer in milliseconds; seconds mean something is wrong (or hostile). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

export function iosPhysicalOptions(config: HostConfig): IosPhysicalOptions {
  return (config.pluginOptions[IOS_PHYSICAL_ID] ?? {}) as IosPhysicalOptions;
}

/** The deadline of each request to usbmuxd or a device, from `pluginOptions["ios-physical"].requestTimeoutMs`. */
export function requestTimeoutMs(config: HostConfig): number {
  const value = iosPhysicalOptions(config).requestTimeoutMs;
  if (value === undefined) return DEFAULT_REQUEST_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new HostError('config-invalid', `pluginOptions["${IOS_PHYSICAL_ID}"].requestTimeoutMs must be a positive whole number of milliseconds; got ${JSON.stringify(value)}.`);
  }
  return value;
}

/**
 * The usbmuxd address: the config option, else `USBMUXD_SOCKET_ADDRESS` (the variable libimobiledevice
 * and appium honour), else the platform default.
 */
export function usbmuxAddress(config: HostConfig, env: NodeJS.ProcessEnv = process.env): UsbmuxAddress {
  const option = iosPhysicalOptions(config).usbmuxdSocket;
  if (option !== undefined && (typeof option !== 'string' || option.trim() === '')) {
    throw new HostError('config-invalid', `pluginOptions["${IOS_PHYSICAL_ID}"].usbmuxdSocket must be "unix:/path" or "host:port"; got ${JSON.stringify(option)}.`);
  }
  const value = option ?? env.USBMUXD_SOCKET_ADDRESS;
  if (value === undefined || value.trim() === '') {
    return process.platform === 'win32' ? { host: '127.0.0.1', port: 27015 } : { path: DEFAULT_USBMUXD_SOCKET };
  }
  return parseUsbmuxAddress(value.trim(), option !== undefined ? `pluginOptions["${IOS_PHYSICAL_ID}"].usbmuxdSocket` : 'USBMUXD_SOCKET_ADDRESS');
}

export function parseUsbmuxAddress(value: string, source: string): UsbmuxAddress {
  if (value.startsWith('unix:')) {
    const path = value.slice('unix:'.length);
    if (path !== '') return { path };
  } else if (value.startsWith('/')) {
    return { path: value };
  } else {
    const colon = value.lastIndexOf(':');
    const port = Number(value.slice(colon + 1));
    const host = value.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    if (colon > 0 && host !== '' && Number.isInteger(port) && port > 0 && port < 65536) return { host, port };
  }
  throw new HostError('config-invalid', `${source} must be "unix:/path/to/socket" or "host:port"; got ${JSON.stringify(value)}.`);
}

export function describeUsbmuxAddress(address: UsbmuxAddress): string {
  return 'path' in address ? address.path : `${address.host}:${address.port}`;
}
