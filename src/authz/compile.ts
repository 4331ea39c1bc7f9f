/**
 * Compiles a {@link PeerPolicy} into a {@link PolicyNode} tree, once, at startup. Every mistake — an unknown key, an
 * empty rule, a malformed pattern, a bare wildcard, a CN-only rule — throws an {@link InvalidOptionError} naming its
 * path in the policy (`policy.anyOf[1].san.dns[0]`). Nothing else is thrown.
 */
import { InvalidOptionError } from '../errors.js';
import { assertOptionsObject, isPlainObject } from '../options/validate.js';
import { attributeTypeOid } from '../x509/attribute-types.js';
import { compileDnValuePattern, type DnValuePattern, matchesDnValue } from './matchers/distinguished-name.js';
import { compileDnsPattern, matchesDnsPattern } from './matchers/dns.js';
import { compileEmailPattern, matchesEmailPattern } from './matchers/email.js';
import { normalizeFingerprint256 } from './matchers/fingerprint.js';
import { type IpBlock, ipInBlock, parseIpBlock } from './matchers/ip.js';
import { compileSpiffePattern, matchesSpiffePattern, normalizeTrustDomain } from './matchers/spiffe.js';
import { compileUriPattern, matchesUriPattern } from './matchers/uri.js';
import { allNode, anyNode, anyPeerNode, checkNode, conditionNode, notNode, type PolicyNode } from './nodes.js';
import type { PeerView } from './peer-view.js';
import type { PeerCheck } from './policy.js';

/** Startup opt-ins that loosen the policy linter. */
export interface CompileOptions {
  /** Accept patterns made only of wildcards (`*`, `**`, `*@*`). */
  readonly allowBareWildcards: boolean;
  /** Accept rules whose only condition is the subject CN. */
  readonly allowCommonNameOnly: boolean;
}

/** A compiled policy. */
export interface CompiledPolicy {
  readonly root: PolicyNode;
  /** A readable one-line description. */
  readonly description: string;
}

const RULE_KEYS = [
  'anyPeer',
  'subject',
  'issuer',
  'san',
  'spiffe',
  'trustDomain',
  'fingerprint256',
  'spkiFingerprint256',
  'issuerFingerprint256',
  'anyOf',
  'allOf',
  'not',
  'check',
] as const;
const SAN_KEYS = ['dns', 'uri', 'email', 'ip'] as const;
const COMMON_NAME_OID = '2.5.4.3';
const MAX_DEPTH = 32;

interface Entry {
  readonly text: string;
  readonly path: string;
}

/** A string, or a non-empty array of non-empty strings, with each entry's path. */
function patternEntries(value: unknown, path: string): Entry[] {
  if (typeof value === 'string') {
    if (value === '') throw new InvalidOptionError(path, 'must not be an empty string');
    return [{ text: value, path }];
  }
  if (!Array.isArray(value)) throw new InvalidOptionError(path, 'must be a string or an array of strings');
  // An empty list would match nothing; saying so at startup beats a route nobody can call.
  if (value.length === 0) throw new InvalidOptionError(path, 'must not be an empty array');
  const entries: Entry[] = [];
  for (let index = 0; index < value.length; index++) {
    const entry: unknown = value[index];
    const entryPath = `${path}[${index}]`;
    if (typeof entry !== 'string' || entry === '')
      throw new InvalidOptionError(entryPath, 'must be a non-empty string');
    entries.push({ text: entry, path: entryPath });
  }
  return entries;
}

/** Compiles every entry, turning a matcher's `Error` into an {@link InvalidOptionError} at the entry's path. */
function compileEntries<T>(entries: readonly Entry[], compile: (text: string) => T): T[] {
  return entries.map((entry) => {
    try {
      return compile(entry.text);
    } catch (error) {
      throw new InvalidOptionError(entry.path, (error as Error).message);
    }
  });
}

function assertNotBare(entries: readonly Entry[], patterns: readonly { bare: boolean }[], options: CompileOptions) {
  if (options.allowBareWildcards) return;
  patterns.forEach((pattern, index) => {
    // A wildcard-only entry allows every value of its type; that must be said on purpose (notes §3.7).
    if (pattern.bare) {
      throw new InvalidOptionError(
        (entries[index] as Entry).path,
        'is a bare wildcard that matches every value; set allowBareWildcards: true if that is meant',
      );
    }
  });
}

/** `san.dns in [a, b]`: the key's path inside its rule object, and the normalized entries. */
function listDescription(path: string, texts: readonly string[]): string {
  const key = path.replace(/^[^.]*(?:\.(?:anyOf|allOf)\[\d+\]|\.not)*\./, '');
  return `${key} in [${texts.join(', ')}]`;
}

/** An exact-value lookup (first entry wins) plus the glob entries in order. */
function indexExact(keys: readonly (string | undefined)[]): Map<string, number> {
  const map = new Map<string, number>();
  keys.forEach((key, index) => {
    if (key !== undefined && !map.has(key)) map.set(key, index);
  });
  return map;
}

function json(values: readonly string[]): string {
  return JSON.stringify(values);
}

function dnsCondition(value: unknown, path: string, options: CompileOptions): PolicyNode {
  const entries = patternEntries(value, path);
  const patterns = compileEntries(entries, compileDnsPattern);
  assertNotBare(entries, patterns, options);
  const exact = indexExact(patterns.map((pattern) => pattern.exact));
  const globs = patterns.flatMap((pattern, index) => (pattern.glob === undefined ? [] : [{ pattern, index }]));
  return conditionNode(
    path,
    listDescription(
      path,
      patterns.map((pattern) => pattern.text),
    ),
    entries.map((entry) => entry.path),
    (view) => {
      for (const name of view.dns) {
        const index = exact.get(name.name);
        if (index !== undefined) return index;
        for (const glob of globs) {
          if (matchesDnsPattern(glob.pattern, name.name, name.labelPath)) return glob.index;
        }
      }
      return -1;
    },
    (view) => `san.dns ${json(view.peer.san.dns)}`,
  );
}

/** A condition that tries every compiled pattern against every normalized peer value. */
function scanCondition<P, V>(
  path: string,
  entries: readonly Entry[],
  patterns: readonly P[],
  texts: readonly string[],
  values: (view: PeerView) => readonly V[],
  matches: (pattern: P, value: V) => boolean,
  describePeer: (view: PeerView) => string,
): PolicyNode {
  return conditionNode(
    path,
    listDescription(path, texts),
    entries.map((entry) => entry.path),
    (view) => {
      for (const value of values(view)) {
        for (let index = 0; index < patterns.length; index++) {
          if (matches(patterns[index] as P, value)) return index;
        }
      }
      return -1;
    },
    describePeer,
  );
}

function uriCondition(value: unknown, path: string, options: CompileOptions): PolicyNode {
  const entries = patternEntries(value, path);
  const patterns = compileEntries(entries, compileUriPattern);
  assertNotBare(entries, patterns, options);
  return scanCondition(
    path,
    entries,
    patterns,
    patterns.map((pattern) => pattern.text),
    (view) => view.uri,
    matchesUriPattern,
    (view) => `san.uri ${json(view.peer.san.uri)}`,
  );
}

function emailCondition(value: unknown, path: string, options: CompileOptions): PolicyNode {
  const entries = patternEntries(value, path);
  const patterns = compileEntries(entries, compileEmailPattern);
  assertNotBare(entries, patterns, options);
  return scanCondition(
    path,
    entries,
    patterns,
    patterns.map((pattern) => pattern.text),
    (view) => view.email,
    matchesEmailPattern,
    (view) => `san.email ${json(view.peer.san.email)}`,
  );
}

function ipCondition(value: unknown, path: string, options: CompileOptions): PolicyNode {
  const entries = patternEntries(value, path);
  const blocks = compileEntries(entries, (text): IpBlock & { bare: boolean } => {
    const block = parseIpBlock(text);
    if (block === undefined) {
      throw new Error('must be an IP address or a CIDR block without host bits (10.0.0.0/8, 2001:db8::/32)');
    }
    return { ...block, bare: block.prefixLength === 0 };
  });
  assertNotBare(entries, blocks, options);
  return scanCondition(
    path,
    entries,
    blocks,
    entries.map((entry) => entry.text),
    (view) => view.ip,
    (block, address) => ipInBlock(address, block),
    (view) => `san.ip ${json(view.peer.san.ip)}`,
  );
}

function sanConditions(value: unknown, path: string, options: CompileOptions): PolicyNode[] {
  assertOptionsObject(value, path, SAN_KEYS);
  const keys = Object.keys(value);
  if (keys.length === 0) throw new InvalidOptionError(path, `must name at least one SAN type (${SAN_KEYS.join(', ')})`);
  const nodes: PolicyNode[] = [];
  if (Object.hasOwn(value, 'dns')) nodes.push(dnsCondition(value.dns, `${path}.dns`, options));
  if (Object.hasOwn(value, 'uri')) nodes.push(uriCondition(value.uri, `${path}.uri`, options));
  if (Object.hasOwn(value, 'email')) nodes.push(emailCondition(value.email, `${path}.email`, options));
  if (Object.hasOwn(value, 'ip')) nodes.push(ipCondition(value.ip, `${path}.ip`, options));
  return nodes;
}

function spiffeCondition(value: unknown, path: string): PolicyNode {
  const entries = patternEntries(value, path);
  const patterns = compileEntries(entries, compileSpiffePattern);
  const exact = indexExact(
    patterns.map((pattern) =>
      pattern.exactPath === undefined ? undefined : `${pattern.trustDomain}${pattern.exactPath}`,
    ),
  );
  const globs = patterns.flatMap((pattern, index) => (pattern.pathGlob === undefined ? [] : [{ pattern, index }]));
  return conditionNode(
    path,
    listDescription(
      path,
      patterns.map((pattern) => pattern.text),
    ),
    entries.map((entry) => entry.path),
    (view) => {
      const id = view.spiffe;
      if (id === undefined) return -1;
      const index = exact.get(id.id);
      if (index !== undefined) return index;
      for (const glob of globs) {
        if (matchesSpiffePattern(glob.pattern, id)) return glob.index;
      }
      return -1;
    },
    (view) => `spiffeId ${JSON.stringify(view.peer.spiffeId ?? null)}`,
  );
}

/** A condition answered by one exact lookup per peer value. */
function lookupCondition(
  path: string,
  entries: readonly Entry[],
  keys: readonly string[],
  describe: (key: string) => string,
  peerKeys: (view: PeerView) => readonly string[],
  describePeer: (view: PeerView) => string,
): PolicyNode {
  const index = indexExact(keys);
  return conditionNode(
    path,
    listDescription(path, keys.map(describe)),
    entries.map((entry) => entry.path),
    (view) => {
      for (const key of peerKeys(view)) {
        const found = index.get(key);
        if (found !== undefined) return found;
      }
      return -1;
    },
    describePeer,
  );
}

function trustDomainCondition(value: unknown, path: string): PolicyNode {
  const entries = patternEntries(value, path);
  const domains = compileEntries(entries, normalizeTrustDomain);
  return lookupCondition(
    path,
    entries,
    domains,
    (domain) => domain,
    (view) => view.trustDomains,
    (view) => `spiffeId ${JSON.stringify(view.peer.spiffeId ?? null)}`,
  );
}

const shortFingerprint = (hex: string): string => `${hex.slice(0, 16)}…`;

function fingerprintCondition(
  value: unknown,
  path: string,
  peerValues: (view: PeerView) => readonly string[],
  label: string,
): PolicyNode {
  const entries = patternEntries(value, path);
  const fingerprints = compileEntries(entries, normalizeFingerprint256);
  return lookupCondition(
    path,
    entries,
    fingerprints,
    shortFingerprint,
    peerValues,
    (view) => `${label} ${json(peerValues(view).map(shortFingerprint))}`,
  );
}

function distinguishedNameConditions(value: unknown, path: string, which: 'subject' | 'issuer'): PolicyNode[] {
  if (!isPlainObject(value)) throw new InvalidOptionError(path, 'must be a plain object of attribute patterns');
  const keys = Object.keys(value);
  if (keys.length === 0) throw new InvalidOptionError(path, 'must name at least one attribute (CN, O, OU, …)');
  const seen = new Map<string, string>();
  return keys.map((key) => {
    const attributePath = `${path}.${key}`;
    const oid = attributeTypeOid(key);
    if (oid === undefined) {
      throw new InvalidOptionError(
        attributePath,
        'is not a known attribute type (use a short name like CN, O, OU, or a dotted OID)',
      );
    }
    const duplicate = seen.get(oid);
    if (duplicate !== undefined)
      throw new InvalidOptionError(attributePath, `names the same attribute as ${path}.${duplicate}`);
    seen.set(oid, key);
    const entries = patternEntries(value[key], attributePath);
    const patterns: DnValuePattern[] = compileEntries(entries, compileDnValuePattern);
    return conditionNode(
      attributePath,
      `${which}.${key} in [${patterns.map((pattern) => pattern.text).join(', ')}]`,
      entries.map((entry) => entry.path),
      (view) => {
        const values = view.attributeValues(which, oid);
        // Absent attribute: nothing to allow. Repeated attribute: every value must be allowed (notes §4 pitfall 15).
        if (values.length === 0) return -1;
        let first = -1;
        for (const attributeValue of values) {
          let index = 0;
          while (index < patterns.length && !matchesDnValue(patterns[index] as DnValuePattern, attributeValue)) index++;
          if (index === patterns.length) return -1;
          if (first === -1) first = index;
        }
        return first;
      },
      (view) => `${which}.${key} ${json(view.peer[which].get(oid))}`,
    );
  });
}

function assertBareDnAllowed(value: unknown, path: string, options: CompileOptions): void {
  if (options.allowBareWildcards || !isPlainObject(value)) return;
  for (const [key, patterns] of Object.entries(value)) {
    const list = typeof patterns === 'string' ? [patterns] : Array.isArray(patterns) ? patterns : [];
    list.forEach((pattern: unknown, index) => {
      if (typeof pattern === 'string' && /^\*+$/.test(pattern)) {
        const entryPath = typeof patterns === 'string' ? `${path}.${key}` : `${path}.${key}[${index}]`;
        throw new InvalidOptionError(
          entryPath,
          'is a bare wildcard that matches every value; set allowBareWildcards: true if that is meant',
        );
      }
    });
  }
}

/**
 * The path of a CN condition that can allow on its own, or `undefined`. A rule object is CN-only when its only
 * constraints are a subject rule on CN alone and CN-only combinators; `not` constrains nothing positive.
 */
function commonNameOnlyPath(rule: Record<string, unknown>, path: string): string | undefined {
  let found: string | undefined;
  for (const key of Object.keys(rule)) {
    const value = rule[key];
    if (key === 'not') continue;
    if (key === 'subject' && isPlainObject(value)) {
      const attributes = Object.keys(value);
      const only = attributes[0];
      if (attributes.length !== 1 || only === undefined || attributeTypeOid(only) !== COMMON_NAME_OID) return undefined;
      found ??= `${path}.subject.${only}`;
    } else if (key === 'anyOf' && Array.isArray(value)) {
      const branch = value
        .map((child: Record<string, unknown>, index) => commonNameOnlyPath(child, `${path}.anyOf[${index}]`))
        .find((childPath) => childPath !== undefined);
      if (branch === undefined) return undefined;
      found ??= branch;
    } else if (key === 'allOf' && Array.isArray(value)) {
      const branches = value.map((child: Record<string, unknown>, index) =>
        commonNameOnlyPath(child, `${path}.allOf[${index}]`),
      );
      if (branches.some((childPath) => childPath === undefined)) return undefined;
      found ??= branches[0];
    } else {
      return undefined;
    }
  }
  return found;
}

function compileRule(rule: unknown, path: string, options: CompileOptions, ancestors: ReadonlySet<object>): PolicyNode {
  assertOptionsObject(rule, path, RULE_KEYS);
  // A cycle or a runaway nesting depth is a configuration bug, not something to recurse into.
  if (ancestors.has(rule)) throw new InvalidOptionError(path, 'refers to itself (the policy is circular)');
  if (ancestors.size >= MAX_DEPTH) throw new InvalidOptionError(path, `nests deeper than ${MAX_DEPTH} levels`);
  const keys = Object.keys(rule);
  // An empty rule would allow everyone by accident; allowing everyone must be written down (notes §3.7).
  if (keys.length === 0) {
    throw new InvalidOptionError(path, 'is an empty rule; write { anyPeer: true } to allow every verified peer');
  }
  if (Object.hasOwn(rule, 'not') && keys.length === 1) {
    // `not` alone is "everyone except", the `!pattern` footgun (notes §4 pitfalls 30, 34).
    throw new InvalidOptionError(
      `${path}.not`,
      'needs a positive condition beside it; write { anyPeer: true, not: … } to allow every peer except …',
    );
  }
  const inner = new Set(ancestors).add(rule);
  const children: PolicyNode[] = [];
  const later: PolicyNode[] = [];
  if (Object.hasOwn(rule, 'anyPeer')) {
    if (rule.anyPeer !== true) throw new InvalidOptionError(`${path}.anyPeer`, 'must be true (omit it otherwise)');
    children.push(anyPeerNode(`${path}.anyPeer`));
  }
  if (Object.hasOwn(rule, 'fingerprint256')) {
    children.push(
      fingerprintCondition(
        rule.fingerprint256,
        `${path}.fingerprint256`,
        (view) => view.fingerprints,
        'fingerprint256',
      ),
    );
  }
  if (Object.hasOwn(rule, 'spkiFingerprint256')) {
    children.push(
      fingerprintCondition(
        rule.spkiFingerprint256,
        `${path}.spkiFingerprint256`,
        (view) => view.spkiFingerprints,
        'spkiFingerprint256',
      ),
    );
  }
  if (Object.hasOwn(rule, 'issuerFingerprint256')) {
    children.push(
      fingerprintCondition(
        rule.issuerFingerprint256,
        `${path}.issuerFingerprint256`,
        (view) => view.peer.issuerChain,
        'issuerChain',
      ),
    );
  }
  if (Object.hasOwn(rule, 'trustDomain')) children.push(trustDomainCondition(rule.trustDomain, `${path}.trustDomain`));
  if (Object.hasOwn(rule, 'spiffe')) children.push(spiffeCondition(rule.spiffe, `${path}.spiffe`));
  if (Object.hasOwn(rule, 'san')) children.push(...sanConditions(rule.san, `${path}.san`, options));
  for (const which of ['subject', 'issuer'] as const) {
    if (!Object.hasOwn(rule, which)) continue;
    children.push(...distinguishedNameConditions(rule[which], `${path}.${which}`, which));
    assertBareDnAllowed(rule[which], `${path}.${which}`, options);
  }
  for (const combinator of ['allOf', 'anyOf'] as const) {
    if (!Object.hasOwn(rule, combinator)) continue;
    const list = rule[combinator];
    const listPath = `${path}.${combinator}`;
    if (!Array.isArray(list) || list.length === 0)
      throw new InvalidOptionError(listPath, 'must be a non-empty array of rules');
    const nodes = list.map((child: unknown, index) => compileRule(child, `${listPath}[${index}]`, options, inner));
    const description = `${combinator}(${nodes.map((node) => node.description).join(' | ')})`;
    children.push(
      combinator === 'allOf' ? allNode(listPath, description, nodes) : anyNode(listPath, description, nodes),
    );
  }
  if (Object.hasOwn(rule, 'not'))
    later.push(notNode(`${path}.not`, compileRule(rule.not, `${path}.not`, options, inner)));
  if (Object.hasOwn(rule, 'check')) {
    if (typeof rule.check !== 'function') throw new InvalidOptionError(`${path}.check`, 'must be a function');
    later.push(checkNode(`${path}.check`, rule.check as PeerCheck));
  }
  const all = [...children, ...later];
  // A one-condition rule reports that condition's entry (`policy.san.dns[0]`) as the rule that allowed.
  if (all.length === 1) return all[0] as PolicyNode;
  return allNode(path, `{ ${all.map((node) => node.description).join(' and ')} }`, all);
}

/**
 * Compiles and lints a policy. Throws only {@link InvalidOptionError}.
 *
 * @example
 * ```ts
 * const compiled = compilePolicy({ san: { dns: '*.example.com' } }, { allowBareWildcards: false, allowCommonNameOnly: false });
 * ```
 */
export function compilePolicy(policy: unknown, options: CompileOptions, path = 'policy'): CompiledPolicy {
  const root = compileRule(policy, path, options, new Set());
  if (!options.allowCommonNameOnly) {
    const commonNamePath = commonNameOnlyPath(policy as Record<string, unknown>, path);
    // RFC 9525 retired CN-IDs; a CN alone is a DN fragment any trusted CA can issue (notes §4 pitfalls 23, 33).
    if (commonNamePath !== undefined) {
      throw new InvalidOptionError(
        commonNamePath,
        'is the only condition that can allow a peer; add a SAN, SPIFFE or issuer binding, or set allowCommonNameOnly: true',
      );
    }
  }
  return Object.freeze({ root, description: root.description });
}
