import { join } from 'node:path';
import { readPlistFile } from './plist-file.js';
import { CONTAINER_METADATA } from './simulator-paths.js';

/** The bundle id that owns an app data container (`MCMMetadataIdentifier`); throws saying why it is unknown. */
export async function readContainerBundleId(container: string): Promise<string> {
  const metadata = await readPlistFile(join(container, CONTAINER_METADATA));
  const id = metadata.MCMMetadataIdentifier;
  if (typeof id !== 'string' || id === '') throw new Error(`${CONTAINER_METADATA} has no MCMMetadataIdentifier`);
  return id;
}
