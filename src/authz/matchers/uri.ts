/**
 * URI patterns `scheme://host[:port][/path]`, segment-aware: scheme and host compare case-insensitively (RFC 3986
 * §6.2.2.1), the host is a DNS pattern (label-aware), the port exactly, and the path by segments (`*` = one segment,
 * `**` = any number). Paths compare after RFC 3986 §6.2.2 normalization (an escaped unreserved character is the
 * character, escapes are upper-case), so `/%61dmin` is `/admin` for an allow rule and a deny rule alike. A glob never
 * matches a path it cannot read unambiguously — an empty or dot segment, or an escaped `/`, `\`, `%`, control or
 * non-ASCII byte (`..%2Fadmin`, `%252F`, the overlong `%C0%AF`): such a URI is "cannot tell", which a deny rule
 * treats as a match. A URI rule never matches a DNS, email or IP SAN (type confusion, CVE-2021-44531).
 */
import type { Minimatch } from 'minimatch';
import type { ConditionKind } from '../conditions.js';
import { compileDnsPattern, type DnsPattern, matchesDnsPattern, normalizePeerDnsName } from './dns.js';
import { compileSegmentGlob, leadingSyntaxProblem, segmentGlobProblem } from './glob.js';

/** A compiled URI pattern. */
export interface UriPattern {
  readonly scheme: string;
  /** A DNS pattern, or the lower-case text of a bracketed IPv6 literal. */
  readonly host: DnsPattern | string;
  readonly port: string;
  /** The normalized path of a pattern without a wildcard. */
  readonly exactPath: string | undefined;
  readonly pathGlob: Minimatch | undefined;
  readonly bare: boolean;
  readonly text: string;
  /** The literal leading segments every match starts with (for the index). */
  readonly prefix: readonly string[];
}

/** A peer's URI SAN split and normalized for matching. */
export interface PeerUri {
  readonly scheme: string;
  /** Normalized DNS name, or lower-case bracketed IPv6 literal. */
  readonly host: string;
  readonly hostPath: string;
  readonly port: string;
  /** The path after RFC 3986 §6.2.2 normalization. */
  readonly path: string;
  /** Whether a glob may judge the path: no empty or dot segments, no escaped separator, `%`, control or 8-bit byte. */
  readonly globbable: boolean;
  /** `scheme://host:port` + path: the exact-match key. */
  readonly key: string;
  /** The index segments: `scheme:port`, host labels right to left (or the literal), `/`, path segments. */
  readonly segments: readonly string[];
}

/** RFC 3986 §2: the characters a URI may contain at all (no space, control, `\`, `"`, `<`, `>` or 8-bit). */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const PATTERN = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?$/;
const PEER = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)$/;
const AUTHORITY = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::([0-9]{1,5}))?$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;
/** Escapes a glob cannot judge: `/`, `\`, `%` (double encoding), controls, and 8-bit bytes (overlong UTF-8 `/`). */
const AMBIGUOUS_ESCAPE = /%(?:2F|5C|25|[01][0-9A-F]|7F|[89A-F][0-9A-F])/;

function splitAuthority(authority: string): { host: string; port: string } | undefined {
  const match = AUTHORITY.exec(authority);
  if (match === null) return undefined;
  return { host: match[1] ?? '', port: match[2] ?? '' };
}

/**
 * RFC 3986 §6.2.2.1–2: decodes escaped unreserved characters and upper-cases the hex of the other escapes; `undefined`
 * for a malformed escape.
 */
function normalizeEscapes(path: string): string | undefined {
  if (!path.includes('%')) return path;
  let normalized = '';
  for (let index = 0; index < path.length; index++) {
    const char = path[index] as string;
    if (char !== '%') {
      normalized += char;
      continue;
    }
    const hex = path.slice(index + 1, index + 3);
    if (!HEX_PAIR.test(hex)) return undefined;
    const decoded = String.fromCharCode(Number.parseInt(hex, 16));
    normalized += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    index += 2;
  }
  return normalized;
}

/** Whether a normalized path can be judged by a segment glob. */
function globbablePath(path: string): boolean {
  if (path === '') return true;
  if (path === '/' || AMBIGUOUS_ESCAPE.test(path)) return false;
  return path
    .slice(1)
    .split('/')
    .every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

function compilePath(path: string): { exactPath: string | undefined; pathGlob: Minimatch | undefined } {
  if (!URI_CHARACTERS.test(path)) {
    throw new Error('must have a percent-encoded path (RFC 3986: no space, control, "\\" or non-ASCII character)');
  }
  const normalized = normalizeEscapes(path);
  if (normalized === undefined) throw new Error("must not have a malformed '%' escape");
  if (!normalized.includes('*')) return { exactPath: normalized, pathGlob: undefined };
  // The glob must say what it means: no character classes, escapes, empty or dot segments.
  if (/[[\]\\]/.test(normalized)) throw new Error("must not use '[', ']' or '\\' in a path glob");
  if (!globbablePath(normalized)) {
    throw new Error(
      "must not have empty, '.' or '..' segments, or an escaped '/', '\\', '%' or 8-bit byte in a path glob",
    );
  }
  const problem = segmentGlobProblem(normalized);
  if (problem !== undefined) throw new Error(problem);
  return { exactPath: undefined, pathGlob: compileSegmentGlob(normalized) };
}

function literalPrefix(scheme: string, host: DnsPattern | string, port: string, path: string): string[] {
  const prefix = [`${scheme}:${port}`];
  if (typeof host === 'string') prefix.push(host);
  else {
    prefix.push(...host.suffix);
    if (host.exact === undefined) return prefix;
  }
  prefix.push('/');
  for (const segment of path.slice(1).split('/')) {
    if (segment.includes('*')) break;
    prefix.push(segment);
  }
  return prefix;
}

/**
 * Compiles one URI pattern, or throws an `Error` whose message completes "<path> …".
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
  const { exactPath, pathGlob } = compilePath(match[3] ?? '');
  const path = exactPath ?? normalizeEscapes(match[3] ?? '') ?? '';
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
    prefix: Object.freeze(literalPrefix(scheme, host, parts.port, path)),
  });
}

/**
 * Splits and normalizes a peer's URI SAN; `undefined` (never matches; "cannot tell" for a deny rule) when it is not
 * RFC 3986 text `scheme://host[:port]path`, has a malformed escape, userinfo, a query or a fragment — a pattern
 * cannot say anything about those, so they are not allowed to ride along.
 */
export function parsePeerUri(uri: string): PeerUri | undefined {
  if (!URI_CHARACTERS.test(uri)) return undefined;
  const match = PEER.exec(uri);
  if (match === null) return undefined;
  const parts = splitAuthority(match[2] ?? '');
  if (parts === undefined) return undefined;
  const literal = parts.host.startsWith('[');
  const host = literal ? parts.host.toLowerCase() : normalizePeerDnsName(parts.host);
  if (host === undefined) return undefined;
  const path = normalizeEscapes(match[3] ?? '');
  if (path === undefined) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  const segments = [`${scheme}:${parts.port}`];
  if (literal) segments.push(host);
  else segments.push(...host.split('.').reverse());
  segments.push('/', ...path.slice(1).split('/'));
  return {
    scheme,
    host,
    hostPath: host.replaceAll('.', '/'),
    port: parts.port,
    path,
    globbable: globbablePath(path),
    key: `${scheme}://${host}:${parts.port}${path}`,
    segments,
  };
}

/** Whether a peer URI matches a compiled pattern; `undefined` when only an unreadable path stands in the way. */
export function matchesUriPattern(pattern: UriPattern, uri: PeerUri): boolean | undefined {
  if (pattern.scheme !== uri.scheme || pattern.port !== uri.port) return false;
  if (typeof pattern.host === 'string') {
    if (pattern.host !== uri.host) return false;
  } else if (!matchesDnsPattern(pattern.host, uri.host, uri.hostPath)) {
    return false;
  }
  if (pattern.exactPath !== undefined) return pattern.exactPath === uri.path;
  // Segment-aware only on canonical paths: minimatch ignores a trailing '/' and collapses '//'.
  if (!uri.globbable) return undefined;
  return pattern.pathGlob?.match(uri.path) === true;
}

function exactKey(pattern: UriPattern): string | undefined {
  if (pattern.exactPath === undefined) return undefined;
  const host = typeof pattern.host === 'string' ? pattern.host : pattern.host.exact;
  return host === undefined ? undefined : `${pattern.scheme}://${host}:${pattern.port}${pattern.exactPath}`;
}

/** `san.uri`: URIs, exact ones indexed, globs in a trie by scheme, port, host labels and literal path segments. */
export const uriKind = Object.freeze<ConditionKind<UriPattern, PeerUri, 'san.uri'>>({
  key: 'san.uri',
  compile: compileUriPattern,
  isBare: (pattern: UriPattern) => pattern.bare,
  describePattern: (pattern: UriPattern) => pattern.text,
  peerValues: (view) => view.normalize(view.peer.san.uri, parsePeerUri),
  matches: matchesUriPattern,
  describe: (view) => `san.uri ${JSON.stringify(view.peer.san.uri)}`,
  exactKey,
  valueKey: (uri: PeerUri) => uri.key,
  prefix: (pattern: UriPattern) => pattern.prefix,
  valueSegments: (uri: PeerUri) => uri.segments,
});
