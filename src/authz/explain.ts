/**
 * `explain(policy, peer)`: why a peer would be allowed or denied, step by step, for operators and tests.
 */
import type { Context, Middleware } from 'koa';
import { InvalidOptionError } from '../errors.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import { assertOptionsObject, ownValue } from '../options/validate.js';
import { asPeer, decide } from './authorizer.js';
import { type AuthzReason, statusOfReason } from './decision.js';
import type { ExplainStep } from './nodes.js';
import type { PeerPolicy } from './policy.js';
import { authorizerOf, createAuthorizer } from './require-peer.js';

/**
 * Options of {@link explain} (ignored when explaining a `requirePeer` middleware, which has its own).
 *
 * @example
 * ```ts
 * import { type ExplainOptions, explain, type PeerIdentity } from 'koa-mtls';
 *
 * const options: ExplainOptions = { now: new Date('2030-01-01T00:00:00Z') }; // is it still allowed in 2030?
 * const later = async (peer: PeerIdentity) => explain({ trustDomain: 'example.org' }, peer, options);
 * ```
 */
export interface ExplainOptions {
  readonly allowProxyClaimed?: boolean;
  readonly allowBareWildcards?: boolean;
  readonly allowCommonNameOnly?: boolean;
  /** A request context for policy `check`s; without one, a `check` does not hold. */
  readonly ctx?: Context;
  /** The time to check validity at. Default: now. */
  readonly now?: Date;
}

/**
 * Why a peer would be allowed or denied.
 *
 * @example
 * ```ts
 * import { type Explanation, explain, type PeerIdentity } from 'koa-mtls';
 *
 * const why = async (peer: PeerIdentity): Promise<string> => {
 *   const { allowed, rule }: Explanation = await explain({ spiffe: 'spiffe://example.org/ns/prod/sa/*' }, peer);
 *   return `${allowed ? 'allowed' : 'denied'} by ${rule}`;
 * };
 * ```
 */
export interface Explanation {
  readonly allowed: boolean;
  readonly reason: AuthzReason;
  /** The policy path that decided (see `AuthzDecision.rule`). */
  readonly rule: string | undefined;
  /** The compiled policy, as one line. */
  readonly policy: string;
  /** Every condition evaluated, in order, with what it compared. */
  readonly steps: readonly ExplainStep[];
}

/**
 * Evaluates `policy` (or the policy of a `requirePeer` middleware) for `peer` and explains the result. The revocation
 * hook is not called. The steps include certificate values: show them to operators, never to clients.
 *
 * @example
 * ```ts
 * import { explain, type PeerIdentity } from 'koa-mtls';
 *
 * const debug = async (peer: PeerIdentity) => {
 *   const why = await explain({ san: { dns: '*.example.com' } }, peer);
 *   if (!why.allowed) console.table(why.steps);
 * };
 * ```
 */
export async function explain(
  policy: PeerPolicy | Middleware,
  peer: PeerIdentity | undefined,
  options: ExplainOptions = {},
): Promise<Explanation> {
  assertOptionsObject(options, 'options', [
    'allowProxyClaimed',
    'allowBareWildcards',
    'allowCommonNameOnly',
    'ctx',
    'now',
  ]);
  const ctx = ownValue(options, 'ctx');
  if (ctx !== undefined && (typeof ctx !== 'object' || ctx === null)) {
    throw new InvalidOptionError('options.ctx', 'must be a Koa context object');
  }
  const now = ownValue(options, 'now');
  if (now !== undefined && !(now instanceof Date && Number.isFinite(now.getTime()))) {
    throw new InvalidOptionError('options.now', 'must be a valid Date');
  }
  const authorizer = authorizerOf(policy) ?? createAuthorizer(policy, options, 'options');
  const steps: ExplainStep[] = [];
  const outcome = await decide(authorizer, asPeer(peer), ctx as Context | undefined, {
    trace: steps,
    checkRevocation: false,
    now: now === undefined ? Date.now() : now.getTime(),
  });
  return Object.freeze({
    allowed: statusOfReason[outcome.reason] === undefined,
    reason: outcome.reason,
    rule: outcome.rule,
    policy: authorizer.compiled.description,
    steps: Object.freeze(steps),
  });
}
