/**
 * Which connections may speak for a client: by the socket's peer address (CIDR list; `X-Forwarded-For` is never
 * consulted, since the client writes it) and/or by the proxy's own verified mTLS identity.
 */
import { BlockList, isIP } from 'node:net';
import { InvalidOptionError } from '../../errors.js';

/** Compiles a CIDR (or single address) list into a matcher; throws {@link InvalidOptionError} at startup. */
export function compileAddresses(entries: unknown, path: string): (address: string | undefined) => boolean {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new InvalidOptionError(path, 'must be a non-empty array of CIDRs or addresses');
  }
  const list = new BlockList();
  entries.forEach((entry, index) => {
    const where = `${path}[${index}]`;
    if (typeof entry !== 'string') throw new InvalidOptionError(where, 'must be a string');
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) throw new InvalidOptionError(where, 'is not an IP address or CIDR');
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const max = family === 4 ? 32 : 128;
    if (prefix === undefined) {
      list.addAddress(address, type);
      return;
    }
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    if (!(bits >= 0 && bits <= max)) throw new InvalidOptionError(where, `has a prefix length outside 0–${max}`);
    list.addSubnet(address, bits, type);
  });
  return (address) => {
    if (address === undefined) return false;
    const family = isIP(address);
    // An unparsable remote address is not trusted (fail closed). IPv4-mapped IPv6 matches IPv4 entries.
    if (family === 0) return false;
    return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}
