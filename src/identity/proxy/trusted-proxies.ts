/**
 * Which connections may speak for a client, and through which header: each trusted proxy is bound to the one
 * header source it sets. A proxy is recognised by the socket's peer address (CIDR list; `X-Forwarded-For` is never
 * consulted, since the client writes it) and/or by its own verified mTLS identity.
 */
import { BlockList, isIP } from 'node:net';
import { InvalidOptionError } from '../../errors.js';
import {
  assertOptionsObject,
  isPlainObject,
  optionalFunction,
  optionalString,
  ownValue,
} from '../../options/validate.js';
import type { PeerIdentity } from '../peer-identity.js';
import type { CompiledHeaderSource } from './sources.js';

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

/** One compiled trusted proxy: how to recognise it, and the one source it sets. */
interface ProxyBinding {
  readonly address: ((address: string | undefined) => boolean) | undefined;
  readonly peer: ((proxy: PeerIdentity) => boolean) | undefined;
  readonly source: CompiledHeaderSource;
}

/** How one connection stands towards the trusted proxies. */
export type ProxyVerdict =
  | { readonly trusted: true; readonly source: CompiledHeaderSource }
  | { readonly trusted: false; readonly ambiguous: boolean; readonly detail: Readonly<Record<string, unknown>> };

/** The compiled `trustedProxies` option. */
export interface CompiledTrustedProxies {
  /** Decides for one connection; `proxyIdentity` is asked only when a binding checks the proxy's own identity. */
  verdict(address: string | undefined, proxyIdentity: () => PeerIdentity | undefined): ProxyVerdict;
}

/** The header source an entry's `source` names: a source type used once, or a header the source reads. */
function boundSource(
  entry: Record<string, unknown>,
  path: string,
  sources: readonly CompiledHeaderSource[],
): CompiledHeaderSource {
  const name = optionalString(entry, 'source', path);
  if (name === undefined) {
    // With several header sources, "whichever header is present" would let a client add the one the proxy never sets.
    if (sources.length === 1) return sources[0] as CompiledHeaderSource;
    throw new InvalidOptionError(
      `${path}.source`,
      'is required with several header sources: name the one this proxy sets',
    );
  }
  const byType = sources.filter((source) => source.type === name.toLowerCase());
  const byHeader = sources.filter((source) => source.headers[0] === name.toLowerCase());
  const matches = byHeader.length === 1 ? byHeader : byType;
  if (matches.length !== 1) {
    throw new InvalidOptionError(
      `${path}.source`,
      matches.length === 0
        ? 'names no configured header source (use its type or its header name)'
        : 'names several header sources of that type: use the header name',
    );
  }
  return matches[0] as CompiledHeaderSource;
}

function compileBinding(entry: unknown, path: string, sources: readonly CompiledHeaderSource[]): ProxyBinding {
  assertOptionsObject(entry, path, ['addresses', 'peer', 'source']);
  const addresses = ownValue(entry, 'addresses');
  const peer = optionalFunction<(proxy: PeerIdentity) => boolean>(entry, 'peer', path);
  if (addresses === undefined && peer === undefined) {
    throw new InvalidOptionError(path, 'must have addresses, peer, or both');
  }
  return Object.freeze({
    address: addresses === undefined ? undefined : compileAddresses(addresses, `${path}.addresses`),
    peer,
    source: boundSource(entry, path, sources),
  });
}

/** Compiles `trustedProxies` (one entry or a non-empty list) against the header sources; throws at startup. */
export function compileTrustedProxies(
  value: unknown,
  path: string,
  sources: readonly CompiledHeaderSource[],
): CompiledTrustedProxies {
  const entries = Array.isArray(value) ? value : [value];
  if (entries.length === 0) throw new InvalidOptionError(path, 'must be an object or a non-empty array of objects');
  const bindings = entries.map((entry, index) => {
    const where = Array.isArray(value) ? `${path}[${index}]` : path;
    if (!isPlainObject(entry)) throw new InvalidOptionError(where, 'must be an object');
    return compileBinding(entry, where, sources);
  });
  return Object.freeze({
    verdict(address: string | undefined, proxyIdentity: () => PeerIdentity | undefined): ProxyVerdict {
      const matched = new Set<CompiledHeaderSource>();
      let check = 'address';
      for (const binding of bindings) {
        if (binding.address !== undefined && !binding.address(address)) continue;
        if (binding.peer !== undefined) {
          const proxy = proxyIdentity();
          let accepted = false;
          try {
            accepted = proxy !== undefined && binding.peer(proxy) === true;
          } catch {
            // Fail closed: a predicate that throws does not make a proxy trusted.
            accepted = false;
          }
          if (!accepted) {
            check = 'peer';
            continue;
          }
        }
        matched.add(binding.source);
      }
      const [source, other] = matched;
      if (source !== undefined && other === undefined) return { trusted: true, source };
      // A connection that matches proxies bound to different sources has no one source to read: it reads none.
      if (source !== undefined) return { trusted: false, ambiguous: true, detail: { remoteAddress: address } };
      return { trusted: false, ambiguous: false, detail: { remoteAddress: address, check } };
    },
  });
}
