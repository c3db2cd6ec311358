/**
 * Just enough DER for the two hot paths of an exchange (reading a CSR, writing a client certificate):
 * elements are located by offset into the original bytes, so signed parts and the fields a certificate
 * copies from a CSR are used exactly as they were received, never decoded and re-encoded.
 * Strict on purpose: definite, minimal lengths and one-byte tags only; anything else is an error.
 */
export interface DerElement {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const;

export class DerError extends Error {}

/** The element at `offset`, which must end at or before `limit`. */
export function readElement(der: Uint8Array, offset: number, limit = der.length): DerElement {
  if (offset + 2 > limit) throw new DerError(`truncated element at byte ${offset}`);
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at byte ${offset}`);
  let length = der[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError(`unsupported length form at byte ${offset}`);
    if (contentStart + count > limit) throw new DerError(`truncated length at byte ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[contentStart + i]!;
    if (der[contentStart] === 0 || length < 0x80) throw new DerError(`non-minimal length at byte ${offset}`);
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`element at byte ${offset} runs past its container`);
  return { tag, start: offset, contentStart, end };
}

/** The elements inside a constructed element, in order; they must fill it exactly. */
export function childrenOf(der: Uint8Array, parent: DerElement): DerElement[] {
  if ((parent.tag & 0x20) === 0) throw new DerError(`element at byte ${parent.start} is not constructed`);
  const children: DerElement[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readElement(der, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** The one element that fills all of `der`, with nothing after it. */
export function readRoot(der: Uint8Array, tag: number): DerElement {
  const root = readElement(der, 0);
  if (root.tag !== tag || root.end !== der.length) throw new DerError('not a single DER element of the expected type');
  return root;
}

export function expectTag(element: DerElement | undefined, tag: number, what: string): DerElement {
  if (element?.tag !== tag) throw new DerError(`expected ${what}`);
  return element;
}

export const bytesOf = (der: Uint8Array, element: DerElement): Buffer => Buffer.from(der.buffer, der.byteOffset + element.start, element.end - element.start);
export const contentOf = (der: Uint8Array, element: DerElement): Buffer => Buffer.from(der.buffer, der.byteOffset + element.contentStart, element.end - element.contentStart);

/** Encodes one element from its tag and content parts. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  return Buffer.concat([Buffer.from([tag]), encodeLength(length), ...parts]);
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A dotted object identifier in DER (tag included); computed once per constant. */
export function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [first! * 40 + second!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) chunk.unshift(0x80 | (value & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(TAG.oid, Buffer.from(bytes));
}

/** RFC 5280 times: UTCTime up to 2049, GeneralizedTime from 2050, whole seconds, always UTC. */
export function derTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  return date.getUTCFullYear() < 2050 ? tlv(TAG.utcTime, Buffer.from(digits.slice(2), 'latin1')) : tlv(TAG.generalizedTime, Buffer.from(digits, 'latin1'));
}
