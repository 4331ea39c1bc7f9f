/**
 * The decision procedure shared by `requirePeer` and `explain`: identity pre-checks (present, verified, within its
 * validity period), then the compiled policy, then revocation.
 */
import type { Context } from 'koa';
import { isBuiltIdentity, rememberedOn, rememberOn, validityPosition } from '../identity/create-identity.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import type { CompiledPolicy } from './compile.js';
import type { AuthzReason } from './decision.js';
import type { ExplainStep, Verdict } from './nodes.js';
import { PeerView } from './peer-view.js';
import type { RevocationChecker, RevocationStatus } from './revocation.js';

/** The compiled, frozen settings of one `requirePeer`. */
export interface Authorizer {
  readonly compiled: CompiledPolicy;
  readonly allowProxyClaimed: boolean;
  readonly revocation: RevocationChecker | undefined;
  /**
   * Verdicts by identity, for a policy without `check` (`undefined` for one with): such a verdict depends on the
   * identity alone, and an identity object lives as long as its connection (or its cache entry), so a keep-alive
   * connection evaluates the policy once. The last verdict is also remembered on the identity itself (one entry).
   */
  readonly verdicts: WeakMap<PeerIdentity, Verdict> | undefined;
}

/** The normalized views of an identity (SANs, DN maps) derive from it alone: built once per identity, shared. */
const views = new WeakMap<PeerIdentity, PeerView>();

function viewOf(peer: PeerIdentity): PeerView {
  let view = views.get(peer);
  if (view === undefined) {
    view = new PeerView(peer);
    views.set(peer, view);
  }
  return view;
}

/** What was decided and which rule decided it. */
export interface Outcome {
  readonly reason: AuthzReason;
  readonly rule: string | undefined;
}

const MISSING: Outcome = Object.freeze({ reason: 'PEER_MISSING', rule: undefined });
const PROXY_CLAIMED: Outcome = Object.freeze({ reason: 'PEER_PROXY_CLAIMED', rule: undefined });
const EXPIRED: Outcome = Object.freeze({ reason: 'PEER_EXPIRED', rule: undefined });
const NOT_YET_VALID: Outcome = Object.freeze({ reason: 'PEER_NOT_YET_VALID', rule: undefined });

const VERIFICATIONS: ReadonlySet<unknown> = new Set(['tls-handshake', 'app', 'proxy-claimed']);

/**
 * A peer is usable only when it has the shape of a `PeerIdentity`; anything else on `ctx.state.peer` (`{}`, a
 * string, a legacy `getPeerCertificate()` object) counts as no peer: `getPeerCertificate()` returns a truthy `{}` without a certificate.
 */
export function asPeer(value: unknown): PeerIdentity | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  // Built by this package's identity factory: shaped by construction, and no getter runs.
  if (isBuiltIdentity(value)) return value as PeerIdentity;
  const peer = value as Partial<PeerIdentity>;
  const shaped =
    VERIFICATIONS.has(peer.verifiedBy) &&
    typeof peer.fingerprint256 === 'string' &&
    peer.notBefore instanceof Date &&
    peer.notAfter instanceof Date &&
    typeof peer.san === 'object' &&
    peer.san !== null &&
    typeof peer.subject === 'object' &&
    typeof peer.issuer === 'object' &&
    Array.isArray(peer.issuerChain);
  return shaped ? (peer as PeerIdentity) : undefined;
}

function preCheck(authorizer: Authorizer, peer: PeerIdentity | undefined, now: number): Outcome | undefined {
  if (peer === undefined) return MISSING;
  // A proxy's unverified claim is not an identity unless the route says so: a header is not a handshake. A built
  // identity is verified by construction, so its `verifiedBy` need not be read.
  if (!isBuiltIdentity(peer) && peer.verifiedBy === 'proxy-claimed' && !authorizer.allowProxyClaimed) {
    return PROXY_CLAIMED;
  }
  // Keep-alive and HTTP/2 connections outlive `notAfter`; the handshake checked validity only once (RFC 5280 §6.1.3: validity at the time of use).
  const position = validityPosition(peer, now);
  if (position === 'after') return EXPIRED;
  if (position === 'before') return NOT_YET_VALID;
  return undefined;
}

function revocationOutcome(status: RevocationStatus, failOpen: boolean, rule: string): Outcome {
  if (status === 'good') return { reason: 'POLICY_MATCH', rule };
  if (status === 'revoked') return { reason: 'PEER_REVOKED', rule };
  // Fail-open is the caller's explicit choice, and it stays visible in every decision.
  if (failOpen) return { reason: 'REVOCATION_FAIL_OPEN', rule };
  return { reason: status === 'timeout' ? 'REVOCATION_TIMEOUT' : 'REVOCATION_ERROR', rule };
}

function afterPolicy(
  authorizer: Authorizer,
  peer: PeerIdentity,
  settled: Verdict,
  checkRevocation: boolean,
): Outcome | Promise<Outcome> {
  const revocation = authorizer.revocation;
  if (!settled.matched || revocation === undefined || !checkRevocation) return settled;
  const status = revocation.check(peer);
  if (typeof status === 'string') return revocationOutcome(status, revocation.failOpen, settled.rule);
  return status.then((value) => revocationOutcome(value, revocation.failOpen, settled.rule));
}

/** How {@link decide} runs, for `explain`; a request passes none. */
export interface DecideOptions {
  /** Collects every evaluated condition (for `explain`); the memoized verdict is not used. */
  readonly trace?: ExplainStep[];
  /** Whether to ask the revocation hook after a policy match. Default `true`. */
  readonly checkRevocation?: boolean;
  /** The time to check the validity period at, in milliseconds. Default: `Date.now()`. */
  readonly now?: number;
}

/**
 * Decides for one peer. Synchronous unless a `check` or the revocation hook is involved. A `check` that throws
 * rejects with a 500 `KoaMtlsError` (never an allow). When the identity's last decision was under this policy, a
 * request reads the identity, the authorizer and the verdict, nothing else: on a busy server each further object is
 * a likely cache miss (~0.1 µs each, measured).
 */
export function decide(
  authorizer: Authorizer,
  peer: PeerIdentity | undefined,
  ctx: Context | undefined,
  options?: DecideOptions,
): Outcome | Promise<Outcome> {
  const trace = options?.trace;
  const checkRevocation = options?.checkRevocation ?? true;
  const early = preCheck(authorizer, peer, options?.now ?? Date.now());
  if (early !== undefined || peer === undefined) {
    trace?.push({ rule: 'peer', matched: false, detail: (early ?? MISSING).reason });
    return early ?? MISSING;
  }
  const verdicts = authorizer.verdicts;
  if (verdicts !== undefined && trace === undefined) {
    let settled = rememberedOn(peer, authorizer) as Verdict | undefined;
    if (settled === undefined) {
      settled = verdicts.get(peer);
      if (settled === undefined) {
        settled = authorizer.compiled.root.evaluate(viewOf(peer), ctx, undefined) as Verdict;
        verdicts.set(peer, settled);
      }
      rememberOn(peer, authorizer, settled);
    }
    return afterPolicy(authorizer, peer, settled, checkRevocation);
  }
  const result = authorizer.compiled.root.evaluate(viewOf(peer), ctx, trace);
  if (result instanceof Promise)
    return result.then((settled) => afterPolicy(authorizer, peer, settled, checkRevocation));
  return afterPolicy(authorizer, peer, result, checkRevocation);
}
