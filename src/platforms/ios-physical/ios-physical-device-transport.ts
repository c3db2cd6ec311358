import { posix } from 'node:path';
import { injectable } from 'inversify';
import { type DeviceTarget, type DeviceTransport, type ExchangeRequest } from '../../core/device-transport.js';
import { HostError } from '../../core/host-error.js';

export const IOS_PHYSICAL_ID = 'ios-physical';

/** Where apps' containers live on an iPhone or iPad (`/var` is a link to `/private/var` there). */
export const DEVICE_CONTAINER_ROOTS = ['/var/mobile/Containers/', '/private/var/mobile/Containers/'];

/** Whether a destination is a path on an iOS device rather than on this computer. */
export function isDeviceContainerPath(destination: string): boolean {
  if (!destination.startsWith('/')) return false;
  const path = posix.normalize(destination);
  return DEVICE_CONTAINER_ROOTS.some((root) => path.startsWith(root));
}

/**
 * The slot for apps on physical iOS devices. Writing into an app's container on a phone needs a channel
 * this host does not have yet (usbmux, as idb and Xcode use), so this transport claims those requests
 * only to refuse them with what to do, instead of the generic "no transport serves this". A transport
 * that can reach phones replaces it through the config (or is listed before it).
 */
@injectable()
export class IosPhysicalDeviceTransport implements DeviceTransport {
  readonly id = IOS_PHYSICAL_ID;

  serves(request: ExchangeRequest): boolean {
    return request.query.os === 'iOS' && isDeviceContainerPath(request.destination);
  }

  async locate(request: ExchangeRequest): Promise<DeviceTarget> {
    throw unsupported(request);
  }

  async deploy(request: ExchangeRequest): Promise<void> {
    throw unsupported(request);
  }
}

function unsupported(request: ExchangeRequest): HostError {
  return new HostError(
    'exchange-unsupported',
    `Physical iOS devices are not supported by sonarhost's built-in transport yet: "${request.query.device}" asked for certificates in ${request.destination}, ` +
      'a folder on the device, and pushing files into an app container on an iPhone or iPad needs a usbmux/idb channel that sonarhost does not implement. ' +
      'iOS simulators on this Mac work (the ios-simulator transport). To use a physical device, plug in a device transport that can reach it: ' +
      `add its module path to plugins.deviceTransports in the host config, before (or instead of) "${IOS_PHYSICAL_ID}"; the module exports a ` +
      'device-transport plugin descriptor (see "Plugins" in the README).',
  );
}
