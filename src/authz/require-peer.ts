/**
 * `requirePeer(policy, options?)`: the per-route authorization middleware.
 *
 * @module authz
 */
import type { Context, DefaultState, Middleware, Next } from 'koa';
import { type AuditHook, type RequestIdResolver, requestIdFromHeader } from '../audit/event.js';
import { auditHook } from '../audit/hook.js';
import { KoaMtlsError } from '../errors.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import { summarizePeer } from '../identity/summarize-peer.js';
import {
  assertOptionsObject,
  optionalBoolean,
  optionalChoice,
  optionalFunction,
  ownValue,
} from '../options/validate.js';
import { attachRouteMetadata } from '../routes/route-metadata.js';
import { type Authorizer, asPeer, decide, type Outcome } from './authorizer.js';
import { compilePolicy } from './compile.js';
import { type AuthzDecision, type AuthzMode, statusOfReason } from './decision.js';
import type { PeerPolicy } from './policy.js';
import { createRevocationChecker, type RevocationOptions } from './revocation.js';

/**
 * Options of {@link requirePeer}.
 *
 * @example
 * ```ts
 * import type { RequirePeerOptions } from 'koa-mtls';
 *
 * const options: RequirePeerOptions = { mode: 'report', onDecision: (decision) => log.info(decision, 'authz') };
 * ```
 */
export interface RequirePeerOptions {
  /** `enforce` (default) denies; `report` evaluates and reports but lets every request through (a dry run). */
  readonly mode?: AuthzMode;
  /** Accept identities a proxy only claimed (`verifiedBy: 'proxy-claimed'`). Default `false`: they get 401. */
  readonly allowProxyClaimed?: boolean;
  /** Accept wildcard-only patterns (`*`, `**`, `*@**`, `0.0.0.0/0`) that allow every value. Default `false`. */
  readonly allowBareWildcards?: boolean;
  /** Accept rules whose only condition is the subject CN. Default `false`. */
  readonly allowCommonNameOnly?: boolean;
  /** A revocation hook with a time-out and a cache; fail closed unless `failOpen`. Default: none. */
  readonly revocation?: RevocationOptions;
  /** Receives every decision. A hook that throws fails the request (500); it never turns a deny into an allow. */
  readonly onDecision?: (decision: AuthzDecision) => void;
  /** Receives the same decision object as an `AuditEvent` (`kind: 'authz'`). */
  readonly onAudit?: AuditHook;
  /** Finds the request id for decisions. Default: the `x-request-id` header. */
  readonly requestId?: RequestIdResolver;
}

const OPTION_KEYS = [
  'mode',
  'allowProxyClaimed',
  'allowBareWildcards',
  'allowCommonNameOnly',
  'revocation',
  'onDecision',
  'onAudit',
  'requestId',
] as const;

const authorizers = new WeakMap<object, Authorizer>();

/**
 * The compiled authorizer behind a `requirePeer` middleware (for `explain`).
 */
export function authorizerOf(middleware: unknown): Authorizer | undefined {
  return typeof middleware === 'function' ? authorizers.get(middleware) : undefined;
}

/**
 * Validates `requirePeer`-style options and compiles the policy; shared with `explain`.
 */
export function createAuthorizer(policy: unknown, options: Record<string, unknown>, path: string): Authorizer {
  const revocationValue = ownValue(options, 'revocation');
  const compiled = compilePolicy(policy, {
    allowBareWildcards: optionalBoolean(options, 'allowBareWildcards', path) ?? false,
    allowCommonNameOnly: optionalBoolean(options, 'allowCommonNameOnly', path) ?? false,
  });
  return Object.freeze({
    compiled,
    allowProxyClaimed: optionalBoolean(options, 'allowProxyClaimed', path) ?? false,
    revocation:
      revocationValue === undefined ? undefined : createRevocationChecker(revocationValue, `${path}.revocation`),
    verdicts: compiled.root.isAsync ? undefined : new WeakMap(),
  });
}

function denial(status: 401 | 403): KoaMtlsError {
  // Generic on purpose: the reason and the peer go to the hooks, never to the client (CWE-209: an error body must not tell a prober which rule or value failed).
  return status === 401
    ? new KoaMtlsError('ERR_MTLS_PEER_REQUIRED', 'Client certificate required', { status })
    : new KoaMtlsError('ERR_MTLS_PEER_FORBIDDEN', 'Forbidden', { status });
}

/**
 * The state an enforcing {@link requirePeer} guarantees to the middleware after it: a verified peer.
 *
 * @example
 * ```ts
 * import type { RouterContext } from '@koa/router';
 * import type { PeerState, SandboxedState } from 'koa-mtls';
 *
 * // A handler after both requirePeer and sandboxPath names both guarantees once:
 * const download = async (ctx: RouterContext<PeerState & SandboxedState>) => {
 *   ctx.body = (await ctx.state.sandboxed.open()).createReadStream();
 * };
 * ```
 */
export interface PeerState {
  readonly peer: PeerIdentity;
}

/**
 * Allows a request only when `ctx.state.peer` (set by `peerCertificate()`) satisfies `policy`.
 *
 * Without a verified peer it throws a `KoaMtlsError` with status 401 (`ERR_MTLS_PEER_REQUIRED`); when the policy or
 * the revocation hook says no, status 403 (`ERR_MTLS_PEER_FORBIDDEN`). Koa's default error handling answers with the
 * status and a generic body; an error middleware upstream can `switch (err.code)`. The handler never runs on a
 * denial. The policy is compiled and linted here, once: a mistake throws `InvalidOptionError` naming its path.
 *
 * Limitations: decisions are per request, not per connection; `check` and `isRevoked` run in the request's
 * critical path (keep them fast or cached).
 *
 * Types: in enforce mode (the default) the middleware after it sees `ctx.state.peer` as a `PeerIdentity`, not
 * optional ({@link PeerState}); `mode: 'report'` denies nothing, so it narrows nothing.
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { peerCertificate, requirePeer } from 'koa-mtls';
 *
 * const router = new Router();
 * router.get(
 *   '/payments',
 *   requirePeer({ spiffe: 'spiffe://example.org/ns/payments/sa/*' }, { onAudit: (event) => log.info(event) }),
 *   (ctx) => { ctx.body = 'ok'; },
 * );
 * app.use(peerCertificate()).use(router.routes());
 * ```
 */
export function requirePeer(
  policy: PeerPolicy,
  options?: RequirePeerOptions & { readonly mode?: 'enforce' },
): Middleware<DefaultState> & Middleware<PeerState>;
export function requirePeer(policy: PeerPolicy, options: RequirePeerOptions): Middleware;
export function requirePeer(policy: PeerPolicy, options: RequirePeerOptions = {}): Middleware {
  assertOptionsObject(options, 'options', OPTION_KEYS);
  const mode = optionalChoice(options, 'mode', 'options', ['enforce', 'report'] as const) ?? 'enforce';
  const onDecision = optionalFunction<(decision: AuthzDecision) => void>(options, 'onDecision', 'options');
  const onAudit = optionalFunction<AuditHook>(options, 'onAudit', 'options');
  const requestId = optionalFunction<RequestIdResolver>(options, 'requestId', 'options') ?? requestIdFromHeader;
  const authorizer = createAuthorizer(policy, options, 'options');
  const enforce = mode === 'enforce';
  const description = authorizer.compiled.description;
  // The configured hook is looked up per request, so configureAudit may run after the routes are built.
  const hasHooks = (): boolean => onDecision !== undefined || auditHook(onAudit) !== undefined;

  const report = (ctx: Context, peer: PeerIdentity | undefined, outcome: Outcome): void => {
    const status = statusOfReason[outcome.reason];
    const allowed = status === undefined;
    // A failing check fails the request in every mode.
    const enforced = enforce || status === 500;
    const id = requestId(ctx);
    const decision: AuthzDecision = Object.freeze({
      kind: 'authz',
      outcome: allowed ? 'allow' : enforced ? 'deny' : 'warn',
      reason: outcome.reason,
      ...(id === undefined ? {} : { requestId: id }),
      ...(peer === undefined ? {} : { peer: summarizePeer(peer) }),
      allowed,
      enforced,
      mode,
      status,
      rule: outcome.rule,
      detail: Object.freeze({ rule: outcome.rule, mode, policy: description }),
    });
    onDecision?.(decision);
    auditHook(onAudit)?.(decision);
  };

  // After the decision: report, deny or go on. Not async: the allow path adds no promise of its own to `next()`'s.
  const proceed = (ctx: Context, peer: PeerIdentity | undefined, outcome: Outcome, next: Next): Promise<void> => {
    try {
      if (hasHooks()) report(ctx, peer, outcome);
      // The common allow needs no table lookup.
      const status = outcome.reason === 'POLICY_MATCH' ? undefined : statusOfReason[outcome.reason];
      if (enforce && (status === 401 || status === 403)) return Promise.reject(denial(status));
      // A downstream error is the downstream's, never an authorization failure.
      return next();
    } catch (error) {
      return Promise.reject(error);
    }
  };

  // A policy `check` (or a peer object that only looks like a PeerIdentity) threw: report it, then let it surface as
  // a server error, never an allow.
  const failed = (ctx: Context, peer: PeerIdentity | undefined, error: unknown): Promise<never> => {
    try {
      if (hasHooks()) report(ctx, peer, { reason: 'POLICY_CHECK_FAILED', rule: undefined });
    } catch (hookError) {
      return Promise.reject(hookError);
    }
    return Promise.reject(error);
  };

  function requirePeerMiddleware(ctx: Context, next: Next): Promise<void> {
    const peer = asPeer(ctx.state.peer);
    let pending: Outcome | Promise<Outcome>;
    try {
      pending = decide(authorizer, peer, ctx);
    } catch (error) {
      return failed(ctx, peer, error);
    }
    if (pending instanceof Promise) {
      return pending.then(
        (outcome) => proceed(ctx, peer, outcome, next),
        (error: unknown) => failed(ctx, peer, error),
      );
    }
    return proceed(ctx, peer, pending, next);
  }

  attachRouteMetadata(requirePeerMiddleware, {
    kind: 'requirePeer',
    description,
    mode,
    allowProxyClaimed: authorizer.allowProxyClaimed,
    revocation: authorizer.revocation !== undefined,
  });
  authorizers.set(requirePeerMiddleware, authorizer);
  return requirePeerMiddleware;
}
