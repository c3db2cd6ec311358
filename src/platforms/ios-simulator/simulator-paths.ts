import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { type HostConfig } from '../../core/host-config.js';
import { HostError } from '../../core/host-error.js';

export const IOS_SIMULATOR_ID = 'ios-simulator';
export const DEFAULT_DEVICES_ROOT = '~/Library/Developer/CoreSimulator/Devices';
export const DEVICE_PLIST = 'device.plist';
/** Written by the container manager into each app container; names the bundle id that owns it. */
export const CONTAINER_METADATA = '.com.apple.mobile_container_manager.metadata.plist';
/** From a simulator's folder down to the folder holding its apps' data containers. */
export const DATA_CONTAINERS_PATH = ['data', 'Containers', 'Data', 'Application'] as const;

/** `pluginOptions["ios-simulator"]` in the host config. */
export interface IosSimulatorOptions {
  /** Where CoreSimulator keeps its devices; `~` is the user's home. */
  devicesRoot?: string;
}

/** The configured devices root, absolute and normalised. Read on each use, so tests and reloads see the config. */
export function devicesRootOf(config: HostConfig, home = homedir()): string {
  const options = (config.pluginOptions[IOS_SIMULATOR_ID] ?? {}) as IosSimulatorOptions;
  const value = options.devicesRoot ?? DEFAULT_DEVICES_ROOT;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new HostError('config-invalid', `pluginOptions["${IOS_SIMULATOR_ID}"].devicesRoot must be a folder path (default ${DEFAULT_DEVICES_ROOT}); got ${JSON.stringify(value)}.`);
  }
  return resolve(value === '~' ? home : value.startsWith('~/') ? join(home, value.slice(2)) : value);
}

/** Whether `child` is `parent` or lies below it; both must be absolute and normalised. */
export function isInside(parent: string, child: string): boolean {
  const rest = relative(parent, child);
  return rest === '' || (rest !== '..' && !rest.startsWith('..' + sep) && !isAbsolute(rest));
}

export interface ContainerPlace {
  udid: string;
  /** The app's data container: `<root>/<UDID>/data/Containers/Data/Application/<APP-UUID>`. */
  container: string;
}

/**
 * Where a real (symlink-free) folder sits under the real devices root: the simulator and the app data
 * container it lies in, or undefined when it lies in none (outside the root, or above a container).
 */
export function containerPlaceOf(realRoot: string, realFolder: string): ContainerPlace | undefined {
  if (!isInside(realRoot, realFolder)) return undefined;
  const parts = relative(realRoot, realFolder).split(sep);
  const [udid, ...below] = parts;
  if (!udid || below.length < DATA_CONTAINERS_PATH.length + 1) return undefined;
  if (DATA_CONTAINERS_PATH.some((name, index) => below[index] !== name)) return undefined;
  return { udid, container: join(realRoot, ...parts.slice(0, DATA_CONTAINERS_PATH.length + 2)) };
}
