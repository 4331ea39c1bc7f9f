/**
 * IP address and CIDR matching on bytes, never on text: `2001:db8::1` and `2001:DB8:0:0:0:0:0:1` compare by value.
 * An IPv4 rule matches its addresses in every IPv6 form that embeds them — IPv4-mapped `::ffff:a.b.c.d` (RFC 4291
 * §2.5.5.2), IPv4-compatible `::a.b.c.d` (§2.5.5.1, deprecated) and the NAT64 well-known prefix `64:ff9b::/96`
 * (RFC 6052 §2.1) — so a deny rule cannot be escaped by rewriting the address. Other embeddings (6to4, Teredo, the
 * NAT64 local-use prefix `64:ff9b:1::/48` of RFC 8215, whose length is the operator's choice) name a router or an
 * unknown layout, not the host, and stay IPv6.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { ConditionKind } from '../conditions.js';

/** An address block: the network's bytes (4 or 16) and how many leading bits must equal. */
export interface IpBlock {
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
  readonly text: string;
}

/** A peer address: its IPv6 bytes (when written as IPv6) and the IPv4 address it is or embeds, if any. */
export interface PeerIp {
  readonly v4: Uint8Array | undefined;
  readonly v6: Uint8Array | undefined;
}

const IPV4_MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
const IPV4_COMPATIBLE = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const NAT64_WELL_KNOWN = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

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

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, index) => bytes[index] === byte);
}

/**
 * The IPv4 address an IPv6 address embeds, or `undefined`. `::` and `::1` are the unspecified and loopback addresses,
 * not IPv4-compatible ones (RFC 4291 §2.5.5.1).
 */
export function embeddedIpv4(bytes: Uint8Array): Uint8Array | undefined {
  if (startsWith(bytes, IPV4_MAPPED) || startsWith(bytes, NAT64_WELL_KNOWN)) return bytes.slice(12);
  if (startsWith(bytes, IPV4_COMPATIBLE)) {
    const v4 = bytes.subarray(12);
    if (v4[0] === 0 && v4[1] === 0 && v4[2] === 0 && ((v4[3] ?? 0) & 0xfe) === 0) return undefined;
    return bytes.slice(12);
  }
  return undefined;
}

/**
 * Parses an IP address into its IPv4 and IPv6 forms. Returns `undefined` for anything else, including zone ids
 * (`fe80::1%eth0`) and surrounding brackets.
 */
export function parseIpAddress(text: string): PeerIp | undefined {
  if (isIPv4(text)) return { v4: parseIpv4(text), v6: undefined };
  // A zone id names a local interface, not an identity.
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  return { v4: embeddedIpv4(v6), v6 };
}

/**
 * Parses `address` or `address/prefix` into a block; `undefined` when either part is malformed, or when host bits are
 * set below the prefix (`10.0.0.1/8` is almost always a typo for `10.0.0.0/8`). An IPv6 block of at least 96 bits
 * inside an embedding prefix is the IPv4 block it embeds (`64:ff9b::10.0.0.0/104` is `10.0.0.0/8`).
 */
export function parseIpBlock(text: string): IpBlock | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const parsed = parseIpAddress(address);
  if (parsed === undefined) return undefined;
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  if (prefixText !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const written = parsed.v6 === undefined ? 32 : 128;
  const prefix = prefixText === undefined ? written : Number(prefixText);
  if (prefix > written) return undefined;
  // An embedding prefix counts 96 bits before the IPv4 address.
  const asIpv4 = parsed.v6 === undefined || (parsed.v4 !== undefined && prefix >= 96);
  const bytes = asIpv4 ? (parsed.v4 as Uint8Array) : (parsed.v6 as Uint8Array);
  const prefixLength = asIpv4 && parsed.v6 !== undefined ? prefix - 96 : prefix;
  for (let bit = prefixLength; bit < bytes.length * 8; bit++) {
    if (((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) return undefined;
  }
  return { bytes, prefixLength, text };
}

function bytesInBlock(address: Uint8Array, block: IpBlock): boolean {
  const fullBytes = block.prefixLength >> 3;
  for (let index = 0; index < fullBytes; index++) {
    if (address[index] !== block.bytes[index]) return false;
  }
  const remainder = block.prefixLength & 7;
  if (remainder === 0) return true;
  const mask = (0xff << (8 - remainder)) & 0xff;
  return ((address[fullBytes] ?? 0) & mask) === ((block.bytes[fullBytes] ?? 0) & mask);
}

/** Whether `address` (from {@link parseIpAddress}) lies inside `block`: IPv4 blocks by the IPv4 form, IPv6 by IPv6. */
export function ipInBlock(address: PeerIp, block: IpBlock): boolean {
  const bytes = block.bytes.length === 4 ? address.v4 : address.v6;
  return bytes !== undefined && bytesInBlock(bytes, block);
}

/** `san.ip`: addresses and CIDR blocks. */
export const ipKind = Object.freeze<ConditionKind<IpBlock, PeerIp, 'san.ip'>>({
  key: 'san.ip',
  compile(text: string): IpBlock {
    const block = parseIpBlock(text);
    if (block === undefined) {
      throw new Error('must be an IP address or a CIDR block without host bits (10.0.0.0/8, 2001:db8::/32)');
    }
    return block;
  },
  isBare: (block: IpBlock) => block.prefixLength === 0,
  describePattern: (block: IpBlock) => block.text,
  peerValues: (view) => view.normalize(view.peer.san.ip, parseIpAddress),
  matches: (block: IpBlock, address: PeerIp) => ipInBlock(address, block),
  describe: (view) => `san.ip ${JSON.stringify(view.peer.san.ip)}`,
});
