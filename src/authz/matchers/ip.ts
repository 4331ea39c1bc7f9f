/**
 * IP address and CIDR matching on bytes, never on text: `2001:db8::1`, `2001:DB8:0:0:0:0:0:1` and `::ffff:10.0.0.1`
 * (as `10.0.0.1`) compare by value.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** An address block: the network's bytes and how many leading bits must equal. */
export interface IpBlock {
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
}

const IPV4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseIpv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.'), Number);
}

function parseIpv6(text: string): Uint8Array | undefined {
  let head = text;
  let embedded: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    embedded = parseIpv4(tail);
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  const left = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const right = halves.length === 2 && halves[1] !== '' ? (halves[1] ?? '').split(':') : [];
  const missing = 8 - left.length - right.length;
  const groups = halves.length === 2 ? [...left, ...Array<string>(missing).fill('0'), ...right] : left;
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    const value = Number.parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  });
  if (embedded !== undefined) bytes.set(embedded, 12);
  return bytes;
}

/**
 * Parses an IP address into 4 or 16 bytes; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) becomes its 4 IPv4 bytes.
 * Returns `undefined` for anything else, including zone ids (`fe80::1%eth0`) and surrounding brackets.
 *
 * @example
 * ```ts
 * parseIpAddress('::ffff:10.0.0.1'); // Uint8Array [10, 0, 0, 1]
 * ```
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return parseIpv4(text);
  // A zone id names a local interface, not an identity.
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const bytes = parseIpv6(text);
  if (bytes === undefined) return undefined;
  // RFC 4291 §2.5.5.2: an IPv4-mapped address is the IPv4 host; match it as one.
  if (IPV4_MAPPED_PREFIX.every((byte, index) => bytes[index] === byte)) return bytes.slice(12);
  return bytes;
}

/**
 * Parses `address` or `address/prefix` into a block; `undefined` when either part is malformed, or when host bits are
 * set below the prefix (`10.0.0.1/8` is almost always a typo for `10.0.0.0/8`).
 *
 * @example
 * ```ts
 * parseIpBlock('10.0.0.0/8'); // { bytes: [10, 0, 0, 0], prefixLength: 8 }
 * parseIpBlock('10.0.0.1/8'); // undefined (host bits set)
 * ```
 */
export function parseIpBlock(text: string): IpBlock | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const bytes = parseIpAddress(address);
  if (bytes === undefined) return undefined;
  const mapped = bytes.length === 4 && isIPv6(address);
  const fullLength = bytes.length * 8;
  if (slash === -1) return { bytes, prefixLength: fullLength };
  const prefixText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  // A prefix on an IPv4-mapped address counts the 96 mapping bits.
  const prefixLength = Number(prefixText) - (mapped ? 96 : 0);
  if (prefixLength < 0 || prefixLength > fullLength) return undefined;
  for (let bit = prefixLength; bit < fullLength; bit++) {
    if (((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) return undefined;
  }
  return { bytes, prefixLength };
}

/** Whether `address` (from {@link parseIpAddress}) lies inside `block`. */
export function ipInBlock(address: Uint8Array, block: IpBlock): boolean {
  if (address.length !== block.bytes.length) return false;
  const fullBytes = block.prefixLength >> 3;
  for (let index = 0; index < fullBytes; index++) {
    if (address[index] !== block.bytes[index]) return false;
  }
  const remainder = block.prefixLength & 7;
  if (remainder === 0) return true;
  const mask = (0xff << (8 - remainder)) & 0xff;
  return ((address[fullBytes] ?? 0) & mask) === ((block.bytes[fullBytes] ?? 0) & mask);
}
