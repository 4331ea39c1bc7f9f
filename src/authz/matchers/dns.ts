/**
 * DNS name patterns, label-aware: `*` stands for exactly one label (or part of one: `api-*`), `**` as the left-most
 * label for one or more labels. Names compare case-insensitively (RFC 4343) and as A-labels (RFC 5890): a Unicode
 * pattern is converted once, at startup. The pattern `api.example.com` becomes the path `api/example/com`, so
 * minimatch's segment rules are DNS label rules.
 */

import { domainToASCII } from 'node:url';
import type { Minimatch } from 'minimatch';
import type { ConditionKind } from '../conditions.js';
import { compileSegmentGlob, leadingSyntaxProblem } from './glob.js';

/** A compiled DNS pattern: an exact A-label name, or a label glob. */
export interface DnsPattern {
  /** Set when the pattern has no wildcard: the lower-case A-label name. */
  readonly exact: string | undefined;
  /** Set when the pattern has a wildcard. */
  readonly glob: Minimatch | undefined;
  /** Every label is a wildcard (`*`, `*.*`, `**`): allows any name. */
  readonly bare: boolean;
  /** The normalized pattern, for descriptions. */
  readonly text: string;
  /** The literal labels right of the left-most wildcard label, right to left (`*.svc.example.com` → com, example, svc). */
  readonly suffix: readonly string[];
}

/** A normalized peer DNS name with its label path for globs and its labels right to left for the index. */
export interface PeerDnsName {
  readonly name: string;
  readonly labelPath: string;
  readonly reversedLabels: readonly string[];
}

const LABEL = /^[a-z0-9_-]{1,63}$/;
const WILDCARD_LABEL = /^[a-z0-9_*-]{1,63}$/;
const PEER_NAME = /^[A-Za-z0-9_.-]{1,253}$/;

function normalizeLabel(label: string, index: number): string {
  if (label === '') throw new Error('has an empty label');
  if (label === '**') {
    if (index !== 0) throw new Error("may use '**' only as the left-most label");
    return label;
  }
  if (label.includes('*')) {
    const lower = label.toLowerCase();
    if (lower.includes('**')) throw new Error("may use '**' only as a whole label");
    // One '*' per label keeps matching linear (two stars make minimatch's regex backtrack: ReDoS, CWE-1333).
    if (lower.indexOf('*') !== lower.lastIndexOf('*')) throw new Error("may use at most one '*' per label");
    if (!WILDCARD_LABEL.test(lower)) throw new Error(`has an invalid wildcard label '${label}'`);
    return lower;
  }
  // RFC 5891: compare IDNs as A-labels; the conversion also lower-cases ASCII.
  const ascii = /^[\x21-\x7e]*$/.test(label) ? label.toLowerCase() : domainToASCII(label);
  if (!LABEL.test(ascii)) throw new Error(`has an invalid label '${label}'`);
  return ascii;
}

/**
 * Compiles one DNS pattern. Throws an `Error` whose message completes "<path> …" (the caller adds the path).
 */
export function compileDnsPattern(pattern: string): DnsPattern {
  const leading = leadingSyntaxProblem(pattern);
  if (leading !== undefined) throw new Error(leading);
  if (pattern.length > 253) throw new Error('must be at most 253 characters (RFC 1035 §2.3.4)');
  // A trailing dot (FQDN form) never appears in a certificate's dNSName (RFC 5280 §4.2.1.6).
  if (pattern.endsWith('.')) throw new Error('must not end with a dot');
  const labels = pattern.split('.').map(normalizeLabel);
  const text = labels.join('.');
  const bare = labels.every((label) => label === '*' || label === '**');
  const suffix: string[] = [];
  for (let index = labels.length - 1; index >= 0 && !(labels[index] as string).includes('*'); index--) {
    suffix.push(labels[index] as string);
  }
  if (!text.includes('*')) return Object.freeze({ exact: text, glob: undefined, bare, text, suffix });
  // `**` is "one or more labels": a required label, then minimatch's zero-or-more globstar.
  const segments = labels.map((label) => (label === '**' ? '*/**' : label));
  return Object.freeze({ exact: undefined, glob: compileSegmentGlob(segments.join('/')), bare, text, suffix });
}

/**
 * Normalizes a peer's DNS name for matching: lower-case, ASCII letters, digits, `-` and `_` in 1–63 character labels.
 * Anything else (a wildcard SAN, raw Unicode, a space, a comma, NUL, an empty label) returns `undefined` and never
 * matches (RFC 5280 §4.2.1.6: a dNSName is an IA5String in preferred name syntax,
 * and a certificate's wildcard is for servers, never a client identity).
 */
export function normalizePeerDnsName(name: string): string | undefined {
  if (!PEER_NAME.test(name)) return undefined;
  const lower = name.toLowerCase();
  for (const label of lower.split('.')) {
    if (!LABEL.test(label)) return undefined;
  }
  return lower;
}

/** The label path minimatch matches a DNS glob against (`api.example.com` → `api/example/com`). */
export function dnsLabelPath(normalizedName: string): string {
  return normalizedName.replaceAll('.', '/');
}

/** A peer's DNS name ready for matching, or `undefined` when it is not a valid name (see {@link normalizePeerDnsName}). */
export function parsePeerDnsName(raw: string): PeerDnsName | undefined {
  const name = normalizePeerDnsName(raw);
  if (name === undefined) return undefined;
  return { name, labelPath: dnsLabelPath(name), reversedLabels: name.split('.').reverse() };
}

/** Whether a normalized peer name (and its label path) matches a compiled pattern. */
export function matchesDnsPattern(pattern: DnsPattern, name: string, labelPath: string): boolean {
  if (pattern.exact !== undefined) return pattern.exact === name;
  return pattern.glob?.match(labelPath) === true;
}

/** `san.dns`: DNS names, exact ones indexed, globs in a trie by their literal right-hand labels. */
export const dnsKind = Object.freeze<ConditionKind<DnsPattern, PeerDnsName, 'san.dns'>>({
  key: 'san.dns',
  compile: compileDnsPattern,
  isBare: (pattern: DnsPattern) => pattern.bare,
  describePattern: (pattern: DnsPattern) => pattern.text,
  peerValues: (view) => view.normalize(view.peer.san.dns, parsePeerDnsName),
  matches: (pattern: DnsPattern, value: PeerDnsName) => matchesDnsPattern(pattern, value.name, value.labelPath),
  describe: (view) => `san.dns ${JSON.stringify(view.peer.san.dns)}`,
  exactKey: (pattern: DnsPattern) => pattern.exact,
  valueKey: (value: PeerDnsName) => value.name,
  prefix: (pattern: DnsPattern) => pattern.suffix,
  valueSegments: (value: PeerDnsName) => value.reversedLabels,
});
