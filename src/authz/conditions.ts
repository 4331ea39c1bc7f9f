/**
 * The registry of policy conditions. Each kind says where it sits in a rule (`spiffe`, `san.dns`), how to compile one
 * pattern, which normalized values a peer has, and how one pattern matches one value; `compileRule` loops over
 * {@link conditionKinds}. A new SAN type is one matcher file exporting its kind, plus two lines here: its registry
 * entry and its documented {@link SanRule} field (a type test fails when the two disagree).
 *
 * `SanRule` lives here rather than beside `PeerPolicy` so that a SAN type touches two source files. Declaring each
 * field in its matcher file by interface merging would make it one, but tsup's declaration bundle does not merge a
 * relative module augmentation: it drops it or copies `declare module '../conditions.js'` verbatim into `dist/`, where
 * that specifier names nothing, so users would lose the field.
 */
import { dnsKind } from './matchers/dns.js';
import { emailKind } from './matchers/email.js';
import { fingerprintKind, issuerFingerprintKind, spkiFingerprintKind } from './matchers/fingerprint.js';
import { ipKind } from './matchers/ip.js';
import { spiffeKind, trustDomainKind } from './matchers/spiffe.js';
import { upnKind } from './matchers/upn.js';
import { uriKind } from './matchers/uri.js';
import type { PeerView } from './peer-view.js';
import type { Patterns } from './policy.js';

/** A peer's normalized values of one kind, and whether any raw value could not be read (it never matches). */
export interface PeerValues<V> {
  readonly values: readonly V[];
  /** A raw value failed normalization: a deny rule over this kind cannot tell whether it would have matched. */
  readonly unreadable: boolean;
}

/** One kind of condition: a rule key and its matcher. */
export interface ConditionKind<P, V, K extends string = string> {
  /** The key inside a rule object: `spiffe`, or `san.dns` for a key inside `san`. */
  readonly key: K;
  /** Compiles one pattern; throws an `Error` whose message completes "<path> …". */
  compile(text: string): P;
  /** The pattern allows every value of its kind (a bare wildcard). */
  isBare(pattern: P): boolean;
  /** The pattern as shown in descriptions. */
  describePattern(pattern: P): string;
  /** The peer's normalized values (built once per identity, through {@link PeerView.values}). */
  peerValues(view: PeerView): PeerValues<V>;
  /** Whether the pattern matches the value; `undefined` when the value is too ambiguous to tell (e.g. `a%2Fb` under a glob). */
  matches(pattern: P, value: V): boolean | undefined;
  /** The peer's values as shown in explanations (`san.dns ["a.example.com"]`). */
  describe(view: PeerView): string;
  /** Exact patterns: the lookup key (or `undefined` for a glob); values: {@link valueKey} must agree. */
  exactKey?(pattern: P): string | undefined;
  valueKey?(value: V): string;
  /** Globs: the literal leading segments every match starts with (a trie path); values: {@link valueSegments}. */
  prefix?(pattern: P): readonly string[];
  valueSegments?(value: V): readonly string[];
}

/** Any condition kind (the registry is heterogeneous). */
// biome-ignore lint/suspicious/noExplicitAny: each kind's pattern and value types are private to its matcher.
export type AnyConditionKind = ConditionKind<any, any>;

/** Every condition kind, in the order a rule evaluates them (the first failing one is reported). */
export const conditionKinds = Object.freeze([
  fingerprintKind,
  spkiFingerprintKind,
  issuerFingerprintKind,
  trustDomainKind,
  spiffeKind,
  dnsKind,
  uriKind,
  emailKind,
  ipKind,
  upnKind,
] as const) satisfies readonly AnyConditionKind[];

/**
 * Subject alternative name rules, by type; a value of one type never satisfies a rule of another type.
 *
 * @example
 * ```ts
 * import type { SanRule } from 'koa-mtls';
 *
 * const san: SanRule = { dns: ['api.example.com', '*.svc.example.com'], ip: '10.0.0.0/8' };
 * ```
 */
export interface SanRule {
  /** DNS names: label-aware globs (`*` = one label, `**` as the left-most label = one or more), case-insensitive, IDNs as A-labels. */
  readonly dns?: Patterns;
  /** URIs `scheme://host[:port]/path`: scheme and host case-insensitive, host label-aware, path segment-aware (`*` = one segment, `**` = any). */
  readonly uri?: Patterns;
  /** Email addresses `local@domain`: the local part exact (or `*` for any), the domain case-insensitive and label-aware. */
  readonly email?: Patterns;
  /**
   * IP addresses or CIDR blocks, IPv4 or IPv6. An IPv4 rule also matches its addresses written as IPv4-mapped
   * (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) IPv6, for allow and `not` alike.
   */
  readonly ip?: Patterns;
  /** Microsoft User Principal Names `user@suffix`, case-insensitive; `*@suffix` for every user of a suffix. */
  readonly upn?: Patterns;
}
