/**
 * The decision record: one object per request, delivered to `onDecision` and to `onAudit`. It **is** an
 * {@link AuditEvent} (`kind: 'authz'`) with typed extras, so one shape serves both hooks.
 */
import type { AuditEvent } from '../audit/event.js';

/**
 * Whether `requirePeer` denies (`enforce`) or only reports what it would have done (`report`, a dry run).
 *
 * @example
 * ```ts
 * import { type AuthzMode, requirePeer } from 'koa-mtls';
 *
 * const mode: AuthzMode = 'report'; // evaluate and report, deny nothing
 * const dryRun = requirePeer({ trustDomain: 'example.org' }, { mode });
 * ```
 */
export type AuthzMode = 'enforce' | 'report';

/**
 * Stable reason codes of an authorization decision.
 *
 * | reason | status | meaning |
 * |---|---|---|
 * | `POLICY_MATCH` | – | the policy allowed the peer |
 * | `PEER_MISSING` | 401 | no verified peer on `ctx.state.peer` |
 * | `PEER_PROXY_CLAIMED` | 401 | the identity was only claimed by a proxy and `allowProxyClaimed` is off |
 * | `PEER_EXPIRED` / `PEER_NOT_YET_VALID` | 401 | the certificate is outside its validity period now |
 * | `POLICY_NO_MATCH` | 403 | the policy denied the peer |
 * | `PEER_REVOKED` | 403 | `isRevoked` answered `true` |
 * | `REVOCATION_ERROR` / `REVOCATION_TIMEOUT` | 403 | `isRevoked` threw or gave no boolean / did not answer in time |
 * | `REVOCATION_FAIL_OPEN` | – | allowed although `isRevoked` failed, because `failOpen: true` |
 * | `POLICY_CHECK_FAILED` | 500 | a policy `check` threw |
 *
 * @example
 * ```ts
 * import type { AuthzDecision } from 'koa-mtls';
 *
 * const onDecision = (decision: AuthzDecision) => {
 *   if (decision.reason === 'PEER_REVOKED') log.error(decision.peer, 'a revoked certificate was used');
 * };
 * ```
 */
export type AuthzReason =
  | 'POLICY_MATCH'
  | 'PEER_MISSING'
  | 'PEER_PROXY_CLAIMED'
  | 'PEER_EXPIRED'
  | 'PEER_NOT_YET_VALID'
  | 'POLICY_NO_MATCH'
  | 'PEER_REVOKED'
  | 'REVOCATION_ERROR'
  | 'REVOCATION_TIMEOUT'
  | 'REVOCATION_FAIL_OPEN'
  | 'POLICY_CHECK_FAILED';

/**
 * One authorization decision. `outcome` is `allow` or `deny` when enforced; in `report` mode a would-be denial is
 * `warn` (it denied nothing), with `allowed: false`.
 *
 * @example
 * ```ts
 * import type { AuthzDecision } from 'koa-mtls';
 *
 * const onDecision = (decision: AuthzDecision) => {
 *   if (!decision.allowed) log.warn({ rule: decision.rule, reason: decision.reason, peer: decision.peer }, 'authz');
 * };
 * ```
 */
export interface AuthzDecision extends AuditEvent {
  readonly kind: 'authz';
  readonly reason: AuthzReason;
  /** What the policy (and the revocation hook) decided, whatever the mode. */
  readonly allowed: boolean;
  /** Whether the decision was acted on: `false` in report mode, except for a failing `check` (always a 500). */
  readonly enforced: boolean;
  readonly mode: AuthzMode;
  /** The HTTP status of a denial (sent when enforced, would-be in report mode). */
  readonly status: 401 | 403 | 500 | undefined;
  /** The policy path that decided: the rule that allowed, or the first condition that failed. */
  readonly rule: string | undefined;
  readonly detail: Readonly<{ rule: string | undefined; mode: AuthzMode; policy: string }>;
}

/**
 * The status each reason answers with; `undefined` means allowed.
 */
export const statusOfReason: Readonly<Record<AuthzReason, 401 | 403 | 500 | undefined>> = Object.freeze({
  POLICY_MATCH: undefined,
  PEER_MISSING: 401,
  PEER_PROXY_CLAIMED: 401,
  PEER_EXPIRED: 401,
  PEER_NOT_YET_VALID: 401,
  POLICY_NO_MATCH: 403,
  PEER_REVOKED: 403,
  REVOCATION_ERROR: 403,
  REVOCATION_TIMEOUT: 403,
  REVOCATION_FAIL_OPEN: undefined,
  POLICY_CHECK_FAILED: 500,
});
