import fc from 'fast-check';
import { x509 } from '../../src/core/x509/peculiar-x509.js';

/**
 * CSR material for fuzzing: PEM wrapping of any bytes, and mutations of a real CSR made on its DER
 * (bit flips, byte changes, truncation, insertions, deletions, rewritten length fields, repeated
 * elements) and wrapped again, so that they pass the PEM check and reach the DER parser, the key
 * check and the signature check.
 */
export function pemOf(der: Uint8Array, label = 'CERTIFICATE REQUEST', lineLength = 64): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(new RegExp(`.{1,${lineLength}}`, 'g')) ?? [''];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`;
}

export function derOf(pem: string): Buffer {
  return Buffer.from(new x509.Pkcs10CertificateRequest(pem).rawData);
}

/** Where each TLV header of a DER tree is: the tag's offset, and the offset and size of its length field. */
export interface TlvHeader {
  tag: number;
  lengthAt: number;
  lengthBytes: number;
}

export function tlvHeaders(der: Uint8Array): TlvHeader[] {
  const headers: TlvHeader[] = [];
  const walk = (start: number, end: number) => {
    let offset = start;
    while (offset + 2 <= end) {
      const tag = der[offset]!;
      const first = der[offset + 1]!;
      let length = first;
      let lengthBytes = 1;
      if (first & 0x80) {
        const n = first & 0x7f;
        if (n === 0 || n > 4 || offset + 2 + n > end) return;
        length = 0;
        for (let i = 0; i < n; i++) length = length * 256 + der[offset + 2 + i]!;
        lengthBytes = 1 + n;
      }
      headers.push({ tag, lengthAt: offset + 1, lengthBytes });
      const contentStart = offset + 1 + lengthBytes;
      const contentEnd = contentStart + length;
      if (contentEnd > end) return;
      // Constructed types (SEQUENCE, SET, context-specific constructed) and BIT STRINGs that wrap DER.
      if (tag & 0x20) walk(contentStart, contentEnd);
      else if (tag === 0x03 && der[contentStart] === 0 && der[contentStart + 1] === 0x30) walk(contentStart + 1, contentEnd);
      offset = contentEnd;
    }
  };
  walk(0, der.length);
  return headers;
}

export type DerMutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'length'; header: number; encoding: Uint8Array }
  | { kind: 'repeat'; header: number };

export const derMutationArb: fc.Arbitrary<DerMutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x01, 0x02, 0x05, 0x06, 0x13, 0x0c, 0x30, 0x31, 0x80, 0x81, 0x82, 0xa0, 0xff) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('length' as const),
      header: fc.nat(),
      encoding: fc.oneof(
        fc.integer({ min: 0, max: 0x7f }).map((n) => Uint8Array.of(n)),
        fc.constantFrom(Uint8Array.of(0x80), Uint8Array.of(0x81, 0xff), Uint8Array.of(0x82, 0xff, 0xff), Uint8Array.of(0x84, 0xff, 0xff, 0xff, 0xff), Uint8Array.of(0x84, 0x7f, 0xff, 0xff, 0xff), Uint8Array.of(0x85, 1, 0, 0, 0, 0), Uint8Array.of(0xff), Uint8Array.of(0x82, 0x00, 0x00)),
        fc.integer({ min: 0, max: 0xffff }).map((n) => Uint8Array.of(0x82, n >> 8, n & 0xff)),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const), header: fc.nat() }) },
);

/** Applies mutations in order; positions wrap around the current length. */
export function mutateDer(original: Uint8Array, mutations: DerMutation[]): Buffer {
  let der = Buffer.from(original);
  for (const m of mutations) {
    if (der.length === 0) break;
    const at = (n: number) => n % der.length;
    switch (m.kind) {
      case 'flip':
        der[at(m.at)]! ^= 1 << m.bit;
        break;
      case 'set':
        der[at(m.at)] = m.value;
        break;
      case 'truncate':
        der = der.subarray(0, at(m.at));
        break;
      case 'insert': {
        const i = at(m.at);
        der = Buffer.concat([der.subarray(0, i), m.bytes, der.subarray(i)]);
        break;
      }
      case 'delete': {
        const i = at(m.at);
        der = Buffer.concat([der.subarray(0, i), der.subarray(i + m.count)]);
        break;
      }
      case 'length': {
        const headers = tlvHeaders(der);
        if (headers.length === 0) break;
        const h = headers[m.header % headers.length]!;
        der = Buffer.concat([der.subarray(0, h.lengthAt), m.encoding, der.subarray(h.lengthAt + h.lengthBytes)]);
        break;
      }
      case 'repeat': {
        const headers = tlvHeaders(der);
        if (headers.length === 0) break;
        const h = headers[m.header % headers.length]!;
        const start = h.lengthAt - 1;
        const first = der[h.lengthAt]!;
        let length = first;
        if (first & 0x80) {
          length = 0;
          for (let i = 0; i < (first & 0x7f); i++) length = length * 256 + der[h.lengthAt + 1 + i]!;
        }
        const end = Math.min(der.length, h.lengthAt + h.lengthBytes + length);
        der = Buffer.concat([der.subarray(0, end), der.subarray(start, end), der.subarray(end)]);
        break;
      }
    }
  }
  return der;
}

/** Random DER-looking trees: plausible tags, sometimes wrong lengths, nested up to a few levels. */
export const randomDerArb: fc.Arbitrary<Buffer> = fc.letrec<{ node: Buffer }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    fc.tuple(fc.constantFrom(0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x16, 0x17, 0x80, 0x1f), fc.uint8Array({ maxLength: 24 })).map(([tag, content]) => tlv(tag, content)),
    fc.tuple(fc.constantFrom(0x30, 0x31, 0xa0, 0xa3), fc.array(tie('node'), { maxLength: 4 })).map(([tag, children]) => tlv(tag, Buffer.concat(children))),
    fc.tuple(tie('node'), fc.integer({ min: -3, max: 3 })).map(([node, delta]) => withLengthDelta(node, delta)),
  ),
})).node;

function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

function withLengthDelta(node: Buffer, delta: number): Buffer {
  if (node.length < 2 || node[1]! & 0x80) return node;
  const copy = Buffer.from(node);
  copy[1] = Math.max(0, Math.min(0x7f, copy[1]! + delta));
  return copy;
}
