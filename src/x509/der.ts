/**
 * A strict, bounded DER reader (X.690 §10): just enough ASN.1 to read a certificate without trusting it. Every
 * length is checked against the bytes that remain, indefinite lengths and trailing bytes are refused, and any
 * violation throws {@link DerError}, which callers turn into "no peer" (fail closed).
 */

/** Malformed DER. The message is for operators only; it never reaches a client. */
export class DerError extends Error {
  override readonly name = 'DerError';
}

/** One TLV: its tag class/number, whether it is constructed, its content and the whole encoding. */
export interface DerNode {
  /** 0 universal, 1 application, 2 context-specific, 3 private. */
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** The content octets (a view, not a copy). */
  readonly content: Uint8Array;
  /** The whole TLV, header included (a view, not a copy). */
  readonly encoded: Uint8Array;
}

/** Universal tag numbers used by X.509. */
export const Tag = Object.freeze({
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  NUMERIC_STRING: 18,
  PRINTABLE_STRING: 19,
  T61_STRING: 20,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  VISIBLE_STRING: 26,
  UNIVERSAL_STRING: 28,
  BMP_STRING: 30,
});

/** Reads one TLV at `offset`; returns it and the offset after it. */
function readNode(bytes: Uint8Array, offset: number): { node: DerNode; end: number } {
  const first = bytes[offset];
  if (first === undefined) throw new DerError('unexpected end of data');
  // X.690 §8.1.2.4: high tag numbers (0x1f) never occur in X.509; refusing them keeps the reader small.
  if ((first & 0x1f) === 0x1f) throw new DerError('high tag numbers are not supported');
  let position = offset + 1;
  const lengthByte = bytes[position];
  if (lengthByte === undefined) throw new DerError('missing length');
  position += 1;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    // X.690 §10.1: DER forbids the indefinite form (0x80); more than 4 length bytes cannot be a certificate.
    if (count === 0 || count > 4) throw new DerError('unsupported length form');
    length = 0;
    for (let i = 0; i < count; i += 1) {
      const byte = bytes[position + i];
      if (byte === undefined) throw new DerError('truncated length');
      length = length * 256 + byte;
    }
    // X.690 §10.1: the shortest length form is mandatory.
    if (length < 0x80 || (count > 1 && bytes[position] === 0)) throw new DerError('non-minimal length');
    position += count;
  }
  const end = position + length;
  if (end > bytes.length) throw new DerError('length exceeds the data');
  return {
    node: {
      tagClass: first >> 6,
      constructed: (first & 0x20) !== 0,
      tagNumber: first & 0x1f,
      content: bytes.subarray(position, end),
      encoded: bytes.subarray(offset, end),
    },
    end,
  };
}

/** Parses exactly one TLV spanning all of `bytes` (no trailing data). */
export function parseDer(bytes: Uint8Array): DerNode {
  const { node, end } = readNode(bytes, 0);
  if (end !== bytes.length) throw new DerError('trailing data');
  return node;
}

/** The children of a constructed node, at most `limit` of them (a bound on hostile input). */
export function children(node: DerNode, limit = 4096): DerNode[] {
  if (!node.constructed) throw new DerError('expected a constructed value');
  const result: DerNode[] = [];
  let offset = 0;
  while (offset < node.content.length) {
    if (result.length >= limit) throw new DerError('too many elements');
    const { node: child, end } = readNode(node.content, offset);
    result.push(child);
    offset = end;
  }
  return result;
}

/** Asserts a universal tag and returns the node. */
export function expectUniversal(node: DerNode | undefined, tagNumber: number, what: string): DerNode {
  if (node === undefined || node.tagClass !== 0 || node.tagNumber !== tagNumber) {
    throw new DerError(`expected ${what}`);
  }
  return node;
}

/** Decodes an OBJECT IDENTIFIER's content to dotted form (X.690 §8.19). */
export function decodeOid(node: DerNode): string {
  const bytes = expectUniversal(node, Tag.OID, 'an OID').content;
  if (bytes.length === 0 || bytes.length > 64) throw new DerError('bad OID length');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i] as number;
    // X.690 §8.19.2: a subidentifier never starts with 0x80 (non-minimal).
    if (value === 0 && byte === 0x80) throw new DerError('non-minimal OID arc');
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OID arc too large');
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === bytes.length - 1) {
      throw new DerError('truncated OID');
    }
  }
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A BOOLEAN's value (DER: 0x00 or 0xff only). */
export function decodeBoolean(node: DerNode): boolean {
  const bytes = expectUniversal(node, Tag.BOOLEAN, 'a BOOLEAN').content;
  if (bytes.length !== 1 || (bytes[0] !== 0 && bytes[0] !== 0xff)) throw new DerError('bad BOOLEAN');
  return bytes[0] === 0xff;
}
