import { type Dirent } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import { HostConfig } from '../../core/host-config.js';
import { describeError } from '../../core/host-error.js';
import { Logger } from '../../core/logger.js';
import { readContainerBundleId } from './container-metadata.js';
import { readPlistFile } from './plist-file.js';
import { DATA_CONTAINERS_PATH, DEVICE_PLIST, devicesRootOf } from './simulator-paths.js';
import { stateLabel } from './simulator-labels.js';

export interface Simulator {
  udid: string;
  name: string;
  /** CoreSimulator's runtime id, e.g. `com.apple.CoreSimulator.SimRuntime.iOS-17-2`. */
  runtime: string;
  deviceType?: string;
  /** `Booted`, `Shutdown`, … */
  state: string;
  /** The simulator's folder, under the real (symlink-free) devices root. */
  folder: string;
}

export interface AppContainer {
  bundleId: string;
  /** The container folder (`…/data/Containers/Data/Application/<APP-UUID>`). */
  path: string;
}

/**
 * The simulators CoreSimulator keeps on this Mac, read from its folders without Xcode's tools: each
 * `<root>/<UDID>/device.plist` describes one simulator. Scans are cached and redone on a miss, since
 * simulators come and go; the cache only names simulators, it never vouches for a folder (the
 * transport checks every request against the disk).
 */
@injectable()
export class CoreSimulatorDevices {
  private readonly log: Logger;
  private cache: { root: string; devices: Map<string, Simulator> } | undefined;
  private scanning: { root: string; done: Promise<Simulator[]> } | undefined;
  /** Problems already logged, so a broken folder warns once rather than on every scan. */
  private readonly reported = new Set<string>();

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('ios-simulator');
  }

  /** The configured devices root (`pluginOptions["ios-simulator"].devicesRoot`), absolute. */
  root(): string {
    return devicesRootOf(this.config);
  }

  /** Scans now; concurrent callers share one scan. */
  async list(): Promise<Simulator[]> {
    const root = this.root();
    if (this.scanning?.root !== root) {
      const done = this.scan(root).finally(() => {
        if (this.scanning?.done === done) this.scanning = undefined;
      });
      this.scanning = { root, done };
    }
    return this.scanning.done;
  }

  /** The simulator with this UDID, from the last scan, or from a new scan when the last one lacks it. */
  async find(udid: string): Promise<Simulator | undefined> {
    const cached = this.cache?.root === this.root() ? this.cache.devices.get(udid) : undefined;
    return cached ?? (await this.list()).find((d) => d.udid === udid);
  }

  /** The app data containers of a simulator and the bundle ids that own them, read now. */
  async containers(simulator: Simulator): Promise<AppContainer[]> {
    const folder = join(simulator.folder, ...DATA_CONTAINERS_PATH);
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return []; // a simulator that never ran an app has no containers yet
    }
    const found = await Promise.all(
      entries
        .filter((e) => e.isDirectory())
        .map(async (e): Promise<AppContainer | undefined> => {
          const path = join(folder, e.name);
          try {
            return { bundleId: await readContainerBundleId(path), path };
          } catch (error) {
            this.log.debug('skipping an app container without readable metadata', { udid: simulator.udid, container: path, error: describeError(error) });
            return undefined;
          }
        }),
    );
    return found.filter((c): c is AppContainer => c !== undefined).sort((a, b) => a.bundleId.localeCompare(b.bundleId));
  }

  private async scan(root: string): Promise<Simulator[]> {
    let realRoot: string;
    let entries: Dirent[];
    try {
      realRoot = await realpath(root);
      entries = await readdir(realRoot, { withFileTypes: true });
    } catch (error) {
      // No folder is the normal state of a machine without Xcode: worth a debug line, not a warning.
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      this.reportOnce(missing ? 'debug' : 'warn', `root:${root}`, 'the CoreSimulator devices folder cannot be read; no iOS simulators are known', { root, error: describeError(error) });
      this.cache = { root, devices: new Map() };
      return [];
    }
    this.reported.delete(`root:${root}`);
    // Device folders are real directories; a symbolic link there is not CoreSimulator's and is skipped.
    const scanned = await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => this.readDevice(join(realRoot, e.name), e.name)));
    const devices = scanned.filter((d): d is Simulator => d !== undefined).sort((a, b) => a.name.localeCompare(b.name) || a.udid.localeCompare(b.udid));
    this.cache = { root, devices: new Map(devices.map((d) => [d.udid, d])) };
    return devices;
  }

  private async readDevice(folder: string, folderName: string): Promise<Simulator | undefined> {
    const plistPath = join(folder, DEVICE_PLIST);
    let plist: Record<string, unknown>;
    try {
      plist = await readPlistFile(plistPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // not a device folder
      this.reportOnce('warn', `plist:${plistPath}`, 'skipping a simulator folder whose device.plist cannot be read', { folder, error: describeError(error) });
      return undefined;
    }
    const { UDID: udid, name, runtime, state, deviceType } = plist;
    const problem =
      typeof udid !== 'string' ? 'it has no UDID'
      : udid !== folderName ? `its UDID ${udid} differs from the folder name`
      : typeof name !== 'string' ? 'it has no name'
      : typeof runtime !== 'string' ? 'it has no runtime'
      : typeof state !== 'number' ? 'it has no numeric state'
      : undefined;
    if (problem !== undefined) {
      this.reportOnce('warn', `plist:${plistPath}`, `skipping a simulator folder whose device.plist is not CoreSimulator's: ${problem}`, { folder });
      return undefined;
    }
    this.reported.delete(`plist:${plistPath}`);
    return {
      udid: udid as string,
      name: name as string,
      runtime: runtime as string,
      ...(typeof deviceType === 'string' ? { deviceType } : {}),
      state: stateLabel(state as number),
      folder,
    };
  }

  private reportOnce(level: 'debug' | 'warn', key: string, message: string, fields: Record<string, unknown>): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.log[level](message, fields);
  }
}
