/**
 * Compiles a {@link PeerPolicy} into a {@link PolicyNode} tree, once, at startup. Every mistake — an unknown key, an
 * empty rule, a malformed pattern, a bare wildcard, a CN-only rule — throws an {@link InvalidOptionError} naming its
 * path in the policy (`policy.anyOf[1].san.dns[0]`). Nothing else is thrown.
 */
import { InvalidOptionError } from '../errors.js';
import { assertOptionsObject, isPlainObject } from '../options/validate.js';
import { attributeTypeOid } from '../x509/attribute-types.js';
import { type AnyConditionKind, conditionKinds } from './conditions.js';
import { compileDnValuePattern, type DnValuePattern, matchesDnValue } from './matchers/distinguished-name.js';
import {
  allNode,
  anyNode,
  anyPeerNode,
  checkNode,
  conditionNode,
  kindNode,
  notNode,
  type PolicyNode,
  verdict,
} from './nodes.js';
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

const SAN_PREFIX = 'san.';
/** Condition kinds keyed directly in a rule (`spiffe`), and those inside its `san` object (`san.dns` → `dns`). */
const RULE_KINDS = conditionKinds.filter((kind) => !kind.key.startsWith(SAN_PREFIX));
const SAN_KEYS = conditionKinds.flatMap((kind) =>
  kind.key.startsWith(SAN_PREFIX) ? [kind.key.slice(SAN_PREFIX.length)] : [],
);
const RULE_KEYS = [
  'anyPeer',
  'subject',
  'issuer',
  'san',
  ...RULE_KINDS.map((kind) => kind.key),
  'anyOf',
  'allOf',
  'not',
  'check',
];
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

/**
 * Compiles every entry, turning a matcher's `Error` into an {@link InvalidOptionError} at the entry's path, and
 * refuses a bare wildcard unless allowed: the one bare-wildcard rule for every kind, DN attributes included.
 */
function compileEntries<T>(
  entries: readonly Entry[],
  compile: (text: string) => T,
  isBare: (pattern: T) => boolean,
  options: CompileOptions,
): T[] {
  return entries.map((entry) => {
    let pattern: T;
    try {
      pattern = compile(entry.text);
    } catch (error) {
      throw new InvalidOptionError(entry.path, (error as Error).message);
    }
    // A wildcard-only entry allows every value of its type; that must be said on purpose.
    if (!options.allowBareWildcards && isBare(pattern)) {
      throw new InvalidOptionError(
        entry.path,
        'is a bare wildcard that matches every value; set allowBareWildcards: true if that is meant',
      );
    }
    return pattern;
  });
}

/** `san.dns in [a, b]`: the key's path inside its rule object, and the normalized entries. */
function listDescription(path: string, texts: readonly string[]): string {
  const key = path.replace(/^[^.]*(?:\.(?:anyOf|allOf)\[\d+\]|\.not)*\./, '');
  return `${key} in [${texts.join(', ')}]`;
}

function json(values: readonly string[]): string {
  return JSON.stringify(values);
}

/** One condition of a registered kind at `path`. */
function kindCondition(kind: AnyConditionKind, value: unknown, path: string, options: CompileOptions): PolicyNode {
  const entries = patternEntries(value, path);
  const patterns = compileEntries(entries, kind.compile, kind.isBare, options);
  return kindNode(
    path,
    listDescription(path, patterns.map(kind.describePattern)),
    kind,
    patterns.map((pattern, order) => ({ pattern, order, verdict: verdict(true, (entries[order] as Entry).path) })),
  );
}

/** The conditions of a rule object in registry order; `san` is validated as a whole first. */
function kindConditions(rule: Record<string, unknown>, path: string, options: CompileOptions): PolicyNode[] {
  let san: Record<string, unknown> | undefined;
  if (Object.hasOwn(rule, 'san')) {
    const value = rule.san;
    assertOptionsObject(value, `${path}.san`, SAN_KEYS);
    if (Object.keys(value).length === 0) {
      throw new InvalidOptionError(`${path}.san`, `must name at least one SAN type (${SAN_KEYS.join(', ')})`);
    }
    san = value;
  }
  const nodes: PolicyNode[] = [];
  for (const kind of conditionKinds) {
    const inSan = kind.key.startsWith(SAN_PREFIX);
    const holder = inSan ? san : rule;
    const key = inSan ? kind.key.slice(SAN_PREFIX.length) : kind.key;
    if (holder !== undefined && Object.hasOwn(holder, key)) {
      nodes.push(kindCondition(kind, holder[key], `${path}.${kind.key}`, options));
    }
  }
  return nodes;
}

function distinguishedNameConditions(
  value: unknown,
  path: string,
  which: 'subject' | 'issuer',
  options: CompileOptions,
): PolicyNode[] {
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
    const patterns: DnValuePattern[] = compileEntries(
      entries,
      compileDnValuePattern,
      (pattern) => pattern.bare,
      options,
    );
    return conditionNode(
      attributePath,
      `${which}.${key} in [${patterns.map((pattern) => pattern.text).join(', ')}]`,
      entries.map((entry) => entry.path),
      (view) => {
        const values = view.attributeValues(which, oid);
        // Absent attribute: nothing to allow. Repeated attribute: every value must be allowed, or a
        // second CN the rule does not know about would ride along on the first.
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
  // An empty rule would allow everyone by accident; allowing everyone must be written down.
  if (keys.length === 0) {
    throw new InvalidOptionError(path, 'is an empty rule; write { anyPeer: true } to allow every verified peer');
  }
  if (Object.hasOwn(rule, 'not') && keys.length === 1) {
    // `not` alone is "everyone except", the `!pattern` footgun of glob-based allow lists.
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
  children.push(...kindConditions(rule, path, options));
  for (const which of ['subject', 'issuer'] as const) {
    if (Object.hasOwn(rule, which)) {
      children.push(...distinguishedNameConditions(rule[which], `${path}.${which}`, which, options));
    }
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
 */
export function compilePolicy(policy: unknown, options: CompileOptions, path = 'policy'): CompiledPolicy {
  const root = compileRule(policy, path, options, new Set());
  if (!options.allowCommonNameOnly) {
    const commonNamePath = commonNameOnlyPath(policy as Record<string, unknown>, path);
    // RFC 9525 retired CN-IDs; a CN alone is a DN fragment any trusted CA can issue.
    if (commonNamePath !== undefined) {
      throw new InvalidOptionError(
        commonNamePath,
        'is the only condition that can allow a peer; add a SAN, SPIFFE or issuer binding, or set allowCommonNameOnly: true',
      );
    }
  }
  return Object.freeze({ root, description: root.description });
}
