import { randomUUID } from 'node:crypto';
import { lstat, mkdir, readdir, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeBinaryFileSync, writeFileSync } from 'simple-plist';

export type PlistFormat = 'binary' | 'xml';

export interface SimulatorSpec {
  name: string;
  /** e.g. `iOS-17-2` (prefixed with com.apple.CoreSimulator.SimRuntime.) or a full runtime id. */
  runtime: string;
  state: 'Booted' | 'Shutdown';
  deviceType?: string;
  udid?: string;
  format?: PlistFormat;
}

/** CoreSimulator's numeric device states. */
const STATE = { Shutdown: 1, Booted: 3 } as const;

/** Writes a plist with simple-plist's own writers, binary (`bplist00`) or XML. */
export function writePlist(path: string, value: Record<string, unknown>, format: PlistFormat): void {
  if (format === 'binary') writeBinaryFileSync(path, value);
  else writeFileSync(path, value);
}

/**
 * A fake `~/Library/Developer/CoreSimulator/Devices` laid out as CoreSimulator lays it out: a
 * device_set.plist, one folder per simulator UDID with its device.plist, and app data containers
 * named by UUID holding the container manager's metadata plist.
 */
export class CoreSimulatorFixture {
  private constructor(readonly root: string) {}

  static async create(root: string): Promise<CoreSimulatorFixture> {
    await mkdir(root, { recursive: true });
    writePlist(join(root, 'device_set.plist'), { DefaultDevices: {}, Version: 0 }, 'binary');
    return new CoreSimulatorFixture(root);
  }

  async addSimulator(spec: SimulatorSpec): Promise<string> {
    const udid = spec.udid ?? randomUUID().toUpperCase();
    const folder = join(this.root, udid);
    await mkdir(join(folder, 'data'), { recursive: true });
    const runtime = spec.runtime.startsWith('com.apple.') ? spec.runtime : `com.apple.CoreSimulator.SimRuntime.${spec.runtime}`;
    const deviceType = spec.deviceType ?? `com.apple.CoreSimulator.SimDeviceType.${spec.name.replace(/ /g, '-')}`;
    writePlist(
      join(folder, 'device.plist'),
      {
        UDID: udid,
        name: spec.name,
        runtime,
        deviceType,
        state: STATE[spec.state],
        runtimePolicy: 'matchDeviceType',
        ...(spec.state === 'Booted' ? { lastBootedAt: new Date('2024-01-15T10:00:00Z') } : {}),
      },
      spec.format ?? 'binary',
    );
    return udid;
  }

  /** Creates the data container of `bundleId` on a simulator; returns the container folder. */
  async addApp(udid: string, bundleId: string, format: PlistFormat = 'binary'): Promise<string> {
    const uuid = randomUUID().toUpperCase();
    const container = join(this.root, udid, 'data', 'Containers', 'Data', 'Application', uuid);
    await mkdir(join(container, 'Library', 'Application Support'), { recursive: true });
    await mkdir(join(container, 'Documents'), { recursive: true });
    writePlist(
      join(container, '.com.apple.mobile_container_manager.metadata.plist'),
      { MCMMetadataContentClass: 2, MCMMetadataIdentifier: bundleId, MCMMetadataSchemaVersion: 1, MCMMetadataUUID: uuid, MCMMetadataInfo: {} },
      format,
    );
    return container;
  }
}

/** The folder an iOS SDK uses for its certificates inside an app container (with the trailing slash). */
export function sonarFolder(container: string): string {
  return join(container, 'Library', 'Application Support', 'sonar') + '/';
}

/**
 * Every entry below `dir` with what identifies its content (size and mtime, or a link's target), so a
 * test can assert that nothing was written, renamed or left behind anywhere.
 */
export async function snapshotTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const info = await lstat(path);
      const name = relative(dir, path);
      if (info.isSymbolicLink()) out.push(`${name} -> ${await readlink(path)}`);
      else if (info.isDirectory()) {
        out.push(`${name}/`);
        await walk(path);
      } else out.push(`${name} ${info.size} ${info.mtimeMs}`);
    }
  };
  await walk(dir);
  return out.sort();
}
