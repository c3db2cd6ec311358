import type * as SimplePlist from 'simple-plist';
import { lazyRequire } from '../../core/lazy-require.js';
import { readRegularFile } from '../../core/regular-file.js';

const simplePlist = lazyRequire<typeof SimplePlist>('simple-plist');

/** Far above any device.plist or container metadata CoreSimulator writes; bounds what a stray file costs. */
export const MAX_PLIST_BYTES = 256 * 1024;

/**
 * Reads a dictionary plist, binary (`bplist00…`) or XML alike, through simple-plist. Throws an Error
 * saying why when the file is missing, not a plain file, malformed, or not a dictionary.
 */
export async function readPlistFile(path: string): Promise<Record<string, unknown>> {
  const bytes = await readRegularFile(path, MAX_PLIST_BYTES);
  // simple-plist tells the formats apart by the first byte: let a BOM or blank lines before `<?xml` pass.
  let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (start < bytes.length && [0x20, 0x09, 0x0a, 0x0d].includes(bytes[start]!)) start++;
  const value = simplePlist().parse<unknown>(bytes.subarray(start), path);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Buffer.isBuffer(value) || value instanceof Date) {
    throw new Error(`${path} is not a dictionary plist`);
  }
  return value as Record<string, unknown>;
}
