import { posix } from 'node:path';
import { HostError } from '../../core/host-error.js';

/** Where apps' data containers live on an iPhone or iPad (`/var` is a link to `/private/var` there). */
export const DATA_CONTAINER_ROOTS = ['/var/mobile/Containers/Data/Application/', '/private/var/mobile/Containers/Data/Application/'];
/** Where apps' containers live in general (data, shared app groups, bundles). */
export const DEVICE_CONTAINER_ROOTS = ['/var/mobile/Containers/', '/private/var/mobile/Containers/'];
/** The SDK's certificate folder inside the app's container: the only folder this transport reads or writes. */
export const SONAR_FOLDER = 'Library/Application Support/sonar/';

/** Whether a destination is a path on an iOS device rather than on this computer. */
export function isDeviceContainerPath(destination: string): boolean {
  if (!destination.startsWith('/')) return false;
  const path = posix.normalize(destination);
  return DEVICE_CONTAINER_ROOTS.some((root) => path.startsWith(root));
}

/**
 * Checks that the destination is `<data container root>/<UUID>/Library/Application Support/sonar/`
 * exactly, with no `..`, `.` or empty segments, and returns the folder relative to the container, which
 * is how house_arrest addresses it. The UUID cannot be checked from here (the phone does not tell the
 * container's UUID through house_arrest); the container is chosen by the CSR's bundle id instead.
 */
export function sonarFolderOf(destination: string): string {
  const root = DATA_CONTAINER_ROOTS.find((r) => destination.startsWith(r));
  const expected = `/var/mobile/Containers/Data/Application/<container UUID>/${SONAR_FOLDER}`;
  if (!root) {
    throw new HostError('destination-refused', `The destination ${destination} is not in an app's data container (${expected}); sonarhost writes certificates on a phone only there.`);
  }
  const rest = destination.slice(root.length).replace(/\/$/, '');
  const segments = rest.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new HostError('destination-refused', `The destination ${destination} contains empty, "." or ".." segments; send the app's certificate folder as a plain path (${expected}).`);
  }
  const [uuid, ...folder] = segments;
  if (!uuid || folder.join('/') + '/' !== SONAR_FOLDER) {
    throw new HostError('destination-refused', `The destination ${destination} is not the SDK's certificate folder (${expected}); sonarhost reads and writes only that folder of the app's container.`);
  }
  return SONAR_FOLDER;
}
