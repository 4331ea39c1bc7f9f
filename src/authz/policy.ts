/**
 * The authorization policy language: typed data, compiled and checked once at startup by `requirePeer`.
 *
 * Within one {@link PeerPolicy} object every key must hold; within one list any entry may match.
 *
 * @module authz/policy
 */
import type { Context } from 'koa';
import type { PeerIdentity } from '../identity/peer-identity.js';
import type { SanRule } from './conditions.js';

/**
 * One pattern, or a list of patterns of which any may match.
 *
 * @example
 * ```ts
 * import type { Patterns } from 'koa-mtls';
 *
 * const one: Patterns = '*.example.com';
 * const many: Patterns = ['a.example.com', 'b.example.com'];
 * ```
 */
export type Patterns = string | readonly string[];

/**
 * Distinguished-name attribute rules: keys are RFC 4514 short names (`CN`, `O`, `OU`, `UID`, …, case-insensitive) or
 * dotted OIDs. An attribute rule holds when the name has at least one value for it and **every** value matches one of
 * the patterns (a second `CN` the rule does not allow fails the rule). Attributes are matched independently, wherever
 * they sit in the name (also inside a multi-valued RDN). Values compare exactly (case-sensitive); `*` matches any run
 * of characters.
 *
 * @example
 * ```ts
 * import type { DistinguishedNameRule } from 'koa-mtls';
 *
 * const subject: DistinguishedNameRule = { O: 'Acme', OU: ['payments', 'billing'], CN: 'svc-*' };
 * ```
 */
export type DistinguishedNameRule = Readonly<Record<string, Patterns>>;

/**
 * A user-supplied predicate, for what the policy language cannot say. Only `true` allows; `false` or any other value
 * denies; a throw (or rejection) fails the request as a server error (500), never an allow.
 *
 * @example
 * ```ts
 * import type { PeerCheck } from 'koa-mtls';
 *
 * const tenants = new Map([['spiffe://example.org/ns/acme/sa/api', 'acme']]);
 * const ownTenant: PeerCheck = (peer, ctx) => tenants.get(peer.spiffeId ?? '') === ctx.params.tenant;
 * ```
 */
export type PeerCheck = (peer: PeerIdentity, ctx: Context) => boolean | Promise<boolean>;

/**
 * A rule over the verified peer. Every key present must hold; a list holds when any of its entries matches.
 *
 * @example
 * ```ts
 * import type { PeerPolicy } from 'koa-mtls';
 *
 * const policy: PeerPolicy = {
 *   anyOf: [
 *     { spiffe: 'spiffe://example.org/ns/payments/sa/*' },
 *     { san: { dns: '*.internal.example.com' }, issuerFingerprint256: 'ab12…' },
 *   ],
 * };
 * ```
 */
export interface PeerPolicy {
  /** Allow every verified peer. Must be written explicitly: an empty policy is a startup error. */
  readonly anyPeer?: true;
  /** Subject DN attribute rules. A rule on `CN` alone needs `allowCommonNameOnly: true` (RFC 9525 retired CN-IDs). */
  readonly subject?: DistinguishedNameRule;
  /** Issuer DN attribute rules. DNs are not unique across CAs: prefer `issuerFingerprint256`. */
  readonly issuer?: DistinguishedNameRule;
  /** Typed SAN rules; every type given must match. */
  readonly san?: SanRule;
  /** SPIFFE IDs or segment-aware patterns (`spiffe://example.org/ns/prod/sa/*`), against the peer's validated X509-SVID ID. */
  readonly spiffe?: Patterns;
  /** SPIFFE trust domains (`example.org`); exact, never a prefix. */
  readonly trustDomain?: Patterns;
  /** Pinned SHA-256 certificate fingerprints: hex (any case, with or without `:`), or base64. */
  readonly fingerprint256?: Patterns;
  /** Pinned SHA-256 SubjectPublicKeyInfo fingerprints (survive renewal with the same key); hex or base64. */
  readonly spkiFingerprint256?: Patterns;
  /** SHA-256 fingerprints of CA certificates, one of which must be in the peer's verified issuer chain. */
  readonly issuerFingerprint256?: Patterns;
  /** Any of these rules. */
  readonly anyOf?: readonly PeerPolicy[];
  /** All of these rules. */
  readonly allOf?: readonly PeerPolicy[];
  /** This rule must not hold. Needs a positive key beside it (`anyPeer: true` for "everyone except"). */
  readonly not?: PeerPolicy;
  /** A predicate evaluated after the other keys of this object hold. */
  readonly check?: PeerCheck;
}
