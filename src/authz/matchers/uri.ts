/**
 * URI patterns `scheme://host[:port][/path]`, segment-aware: scheme and host compare case-insensitively (RFC 3986
 * §6.2.2.1), the host is a DNS pattern (label-aware), the port exactly, and the path by segments (`*` = one segment,
 * `**` = any number). A URI rule never matches a DNS, email or IP SAN (notes §4 pitfall 22).
 */
import type { Minimatch } from 'minimatch';
import { compileDnsPattern, type DnsPattern, dnsLabelPath, matchesDnsPattern, normalizePeerDnsName } from './dns.js';
import { compileSegmentGlob, leadingSyntaxProblem, segmentGlobProblem } from './glob.js';

/** A compiled URI pattern. */
export interface UriPattern {
  readonly scheme: string;
  /** A DNS pattern, or the lower-case text of a bracketed IPv6 literal. */
  readonly host: DnsPattern | string;
  readonly port: string;
  readonly exactPath: string | undefined;
  readonly pathGlob: Minimatch | undefined;
  readonly bare: boolean;
  readonly text: string;
}

/** A peer's URI SAN split for matching. */
export interface PeerUri {
  readonly scheme: string;
  /** Normalized DNS name, or lower-case bracketed IPv6 literal. */
  readonly host: string;
  readonly hostPath: string;
  readonly port: string;
  readonly path: string;
  /** Whether the path may be matched by a glob: no empty, `.` or `..` segments. */
  readonly globbable: boolean;
}

const PATTERN = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?$/;
const PEER = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)$/;
const AUTHORITY = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::([0-9]{1,5}))?$/;

function splitAuthority(authority: string): { host: string; port: string } | undefined {
  const match = AUTHORITY.exec(authority);
  if (match === null) return undefined;
  return { host: match[1] ?? '', port: match[2] ?? '' };
}

function segmentsAreClean(path: string): boolean {
  if (path === '') return true;
  // RFC 3986 §2.3/§6.2.2.2: `%2e` is an unreserved '.', so `%2e%2e` is the dot-segment '..' once normalized.
  const segments = path
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/%2e/gi, '.'));
  return segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

function compilePath(path: string): { exactPath: string | undefined; pathGlob: Minimatch | undefined } {
  if (!path.includes('*')) return { exactPath: path, pathGlob: undefined };
  // The glob must say what it means: no character classes, escapes, empty or dot segments.
  if (/[[\]\\]/.test(path)) throw new Error("must not use '[', ']' or '\\' in a path glob");
  if (!segmentsAreClean(path)) throw new Error("must not have empty, '.' or '..' segments in a path glob");
  const problem = segmentGlobProblem(path);
  if (problem !== undefined) throw new Error(problem);
  return { exactPath: undefined, pathGlob: compileSegmentGlob(path) };
}

/**
 * Compiles one URI pattern, or throws an `Error` whose message completes "<path> …".
 *
 * @example
 * ```ts
 * compileUriPattern('HTTPS://API.example.com/v1/*').text; // 'https://api.example.com/v1/*'
 * ```
 */
export function compileUriPattern(pattern: string): UriPattern {
  const leading = leadingSyntaxProblem(pattern);
  if (leading !== undefined) throw new Error(leading);
  if (/[?#]/.test(pattern)) throw new Error('must not have a query or fragment');
  const match = PATTERN.exec(pattern);
  if (match === null) throw new Error("must be an absolute URI 'scheme://host[:port][/path]'");
  const scheme = (match[1] ?? '').toLowerCase();
  const authority = match[2] ?? '';
  if (authority.includes('@')) throw new Error('must not have userinfo');
  const parts = splitAuthority(authority);
  if (parts === undefined || parts.host === '') throw new Error('must have a host');
  let host: DnsPattern | string;
  if (parts.host.startsWith('[')) {
    host = parts.host.toLowerCase();
  } else {
    try {
      host = compileDnsPattern(parts.host);
    } catch (error) {
      throw new Error(`has a host that ${(error as Error).message}`);
    }
  }
  const path = match[3] ?? '';
  const { exactPath, pathGlob } = compilePath(path);
  const hostBare = typeof host !== 'string' && host.bare;
  const pathBare =
    pathGlob !== undefined && path.split('/').every((segment) => segment === '' || /^\*+$/.test(segment));
  const hostText = typeof host === 'string' ? host : host.text;
  return Object.freeze({
    scheme,
    host,
    port: parts.port,
    exactPath,
    pathGlob,
    bare: hostBare && (pathBare || path === ''),
    text: `${scheme}://${hostText}${parts.port === '' ? '' : `:${parts.port}`}${path}`,
  });
}

/**
 * Splits a peer's URI SAN; `undefined` (never matches) when it is not `scheme://host[:port]path` or has userinfo, a
 * query or a fragment — a pattern cannot say anything about those, so they are not allowed to ride along.
 *
 * @example
 * ```ts
 * parsePeerUri('https://h.example.com/x?admin=1'); // undefined
 * ```
 */
export function parsePeerUri(uri: string): PeerUri | undefined {
  const match = PEER.exec(uri);
  if (match === null) return undefined;
  const parts = splitAuthority(match[2] ?? '');
  if (parts === undefined) return undefined;
  let host: string | undefined;
  if (parts.host.startsWith('[')) host = parts.host.toLowerCase();
  else host = normalizePeerDnsName(parts.host);
  if (host === undefined) return undefined;
  const path = match[3] ?? '';
  return {
    scheme: (match[1] ?? '').toLowerCase(),
    host,
    hostPath: dnsLabelPath(host),
    port: parts.port,
    path,
    globbable: path !== '/' && segmentsAreClean(path),
  };
}

/** Whether a peer URI matches a compiled pattern. */
export function matchesUriPattern(pattern: UriPattern, uri: PeerUri): boolean {
  if (pattern.scheme !== uri.scheme || pattern.port !== uri.port) return false;
  if (typeof pattern.host === 'string') {
    if (pattern.host !== uri.host) return false;
  } else if (!matchesDnsPattern(pattern.host, uri.host, uri.hostPath)) {
    return false;
  }
  if (pattern.exactPath !== undefined) return pattern.exactPath === uri.path;
  // Segment-aware only on canonical paths: minimatch ignores a trailing '/' and collapses '//'.
  return uri.globbable && pattern.pathGlob?.match(uri.path) === true;
}
