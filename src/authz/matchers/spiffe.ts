/**
 * SPIFFE ID patterns and trust domains (SPIFFE-ID spec §2): the trust domain compares exactly (lower-case, never as a
 * prefix: `example.org` ≠ `example.org.evil`), the path by segments and case-sensitively (`*` = one segment, `**` =
 * any number, so `/ns/a/*` never matches `/ns/ab`; go-spiffe PR #406). Matched only against `peer.spiffeId`, which
 * is set only for a valid X509-SVID, never against raw URI SANs.
 */
import type { Minimatch } from 'minimatch';
import type { ConditionKind } from '../conditions.js';
import type { PeerView } from '../peer-view.js';
import { compileSegmentGlob, leadingSyntaxProblem, segmentGlobProblem } from './glob.js';

/** A compiled SPIFFE ID pattern. */
export interface SpiffePattern {
  readonly trustDomain: string;
  readonly exactPath: string | undefined;
  readonly pathGlob: Minimatch | undefined;
  readonly text: string;
  /** The trust domain and the literal leading path segments (for the index). */
  readonly prefix: readonly string[];
}

/** A peer's SPIFFE ID split for matching. */
export interface PeerSpiffeId {
  readonly trustDomain: string;
  readonly path: string;
  /** `trustDomain + path`, the key exact IDs are indexed by. */
  readonly id: string;
  /** The trust domain, then the path segments (for the index). */
  readonly segments: readonly string[];
}

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const PATTERN_SEGMENT = /^[A-Za-z0-9._*-]+$/;
const SPIFFE = /^spiffe:\/\/([^/]*)(.*)$/i;

/**
 * Validates and lower-cases a trust domain name, or throws an `Error` whose message completes "<path> …".
 */
export function normalizeTrustDomain(input: string): string {
  const leading = leadingSyntaxProblem(input);
  if (leading !== undefined) throw new Error(leading);
  if (input.includes('*')) throw new Error('must not contain a wildcard (list each trust domain)');
  if (/^spiffe:/i.test(input))
    throw new Error("must be a bare trust domain name like 'example.org', without 'spiffe://'");
  const lower = input.toLowerCase();
  // SPIFFE-ID §2.1: letters, digits, '.', '-', '_' only; no port, userinfo or percent-encoding.
  if (!TRUST_DOMAIN.test(lower)) throw new Error('must be a valid SPIFFE trust domain (a-z, 0-9, ".", "-", "_")');
  return lower;
}

/**
 * Compiles one SPIFFE ID pattern, or throws an `Error` whose message completes "<path> …".
 */
export function compileSpiffePattern(pattern: string): SpiffePattern {
  const leading = leadingSyntaxProblem(pattern);
  if (leading !== undefined) throw new Error(leading);
  if (pattern.length > 2048) throw new Error('must be at most 2048 characters (SPIFFE-ID §2.3)');
  const match = SPIFFE.exec(pattern);
  if (match === null) throw new Error("must be a SPIFFE ID 'spiffe://trust-domain/path'");
  let trustDomain: string;
  try {
    trustDomain = normalizeTrustDomain(match[1] ?? '');
  } catch (error) {
    throw new Error(`has a trust domain that ${(error as Error).message}`);
  }
  const path = match[2] ?? '';
  if (path === '' || path === '/') {
    throw new Error(`has no path; use { trustDomain: '${trustDomain}' } to allow a whole trust domain`);
  }
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    // SPIFFE-ID §2.2: no empty, '.' or '..' segments, no percent-encoding, query or fragment.
    if (segment === '' || segment === '.' || segment === '..' || !PATTERN_SEGMENT.test(segment)) {
      throw new Error(`has an invalid path segment '${segment}' (SPIFFE-ID §2.2)`);
    }
  }
  const problem = segmentGlobProblem(path);
  if (problem !== undefined) throw new Error(problem);
  const glob = path.includes('*');
  const literal = segments.findIndex((segment) => segment.includes('*'));
  return Object.freeze({
    trustDomain,
    exactPath: glob ? undefined : path,
    pathGlob: glob ? compileSegmentGlob(path) : undefined,
    text: `spiffe://${trustDomain}${path}`,
    prefix: Object.freeze([trustDomain, ...(literal === -1 ? segments : segments.slice(0, literal))]),
  });
}

/** Splits a peer's SPIFFE ID; `undefined` when it is not a valid leaf SPIFFE ID. */
export function parsePeerSpiffeId(id: string): PeerSpiffeId | undefined {
  // SPIFFE-ID §2.3: at most 2048 bytes.
  if (id.length > 2048) return undefined;
  const match = SPIFFE.exec(id);
  if (match === null) return undefined;
  const trustDomain = (match[1] ?? '').toLowerCase();
  const path = match[2] ?? '';
  if (!TRUST_DOMAIN.test(trustDomain) || path.length < 2) return undefined;
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '.' || segment === '..' || !SEGMENT.test(segment)) return undefined;
  }
  return { trustDomain, path, id: `${trustDomain}${path}`, segments: [trustDomain, ...segments] };
}

/** Whether a peer SPIFFE ID matches a compiled pattern. */
export function matchesSpiffePattern(pattern: SpiffePattern, id: PeerSpiffeId): boolean {
  if (pattern.trustDomain !== id.trustDomain) return false;
  if (pattern.exactPath !== undefined) return pattern.exactPath === id.path;
  return pattern.pathGlob?.match(id.path) === true;
}

/** The peer's split SPIFFE ID as a list (none without `spiffeId`; unreadable when it does not parse). */
function peerSpiffeIds(view: PeerView) {
  const id = view.peer.spiffeId;
  return view.normalize(id === undefined ? [] : [id], parsePeerSpiffeId);
}

const describeSpiffeId = (view: PeerView): string => `spiffeId ${JSON.stringify(view.peer.spiffeId ?? null)}`;

/** `spiffe`: SPIFFE IDs, exact ones indexed, globs in a trie by trust domain and literal path segments. */
export const spiffeKind = Object.freeze<ConditionKind<SpiffePattern, PeerSpiffeId, 'spiffe'>>({
  key: 'spiffe',
  compile: compileSpiffePattern,
  isBare: () => false,
  describePattern: (pattern: SpiffePattern) => pattern.text,
  peerValues: peerSpiffeIds,
  matches: matchesSpiffePattern,
  describe: describeSpiffeId,
  exactKey: (pattern: SpiffePattern) =>
    pattern.exactPath === undefined ? undefined : `${pattern.trustDomain}${pattern.exactPath}`,
  valueKey: (id: PeerSpiffeId) => id.id,
  prefix: (pattern: SpiffePattern) => pattern.prefix,
  valueSegments: (id: PeerSpiffeId) => id.segments,
});

/** `trustDomain`: the trust domain of the peer's SPIFFE ID, exact. */
export const trustDomainKind = Object.freeze<ConditionKind<string, string, 'trustDomain'>>({
  key: 'trustDomain',
  compile: normalizeTrustDomain,
  isBare: () => false,
  describePattern: (domain: string) => domain,
  peerValues: (view) =>
    view.normalize(
      view.peer.spiffeId === undefined ? [] : [view.peer.spiffeId],
      (id) => parsePeerSpiffeId(id)?.trustDomain,
    ),
  matches: (domain: string, peerDomain: string) => domain === peerDomain,
  describe: describeSpiffeId,
  exactKey: (domain: string) => domain,
  valueKey: (domain: string) => domain,
});
