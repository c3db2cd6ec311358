import type * as SimplePlist from 'simple-plist';
import { HostError } from '../../core/host-error.js';
import { lazyRequire } from '../../core/lazy-require.js';

const simplePlist = lazyRequire<typeof SimplePlist>('simple-plist');

export type PlistDict = Record<string, unknown>;

/** An XML plist, as usbmuxd (protocol version 1) and lockdownd expect. */
export function encodePlist(value: PlistDict): Buffer {
  return Buffer.from(simplePlist().stringify(value), 'utf8');
}

/** Decodes an XML or binary plist whose top level must be a dictionary. */
export function decodePlist(bytes: Buffer, what: string): PlistDict {
  let value: unknown;
  try {
    value = simplePlist().parse(bytes);
  } catch (error) {
    throw new HostError('protocol-invalid', `${what} sent a property list that cannot be read.`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new HostError('protocol-invalid', `${what} sent a property list that is not a dictionary.`);
  }
  return value as PlistDict;
}

/** The bytes of a plist `<data>` or `<string>` field (pair records hold PEM text as data). */
export function bytesField(dict: PlistDict, key: string): Buffer | undefined {
  const value = dict[key];
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return undefined;
}
