/**
 * One audit event shape for every decision and rejection in every module. Nothing is logged by default: events
 * reach only the `onAudit` hook a caller passes to a factory. The peer summary uses OpenTelemetry's `tls.client.*`
 * attribute names, so an event drops straight into pino or a tracing span.
 *
 * @module audit
 */
import type { Context } from 'koa';
import type { AuthzReason } from '../authz/decision.js';
import type { KoaMtlsErrorCode } from '../errors.js';
import type { ForwardedProblem } from '../identity/proxy/forwarded-peers.js';
import type { ExtractionProblem } from '../identity/proxy/sources.js';
import type { ConnectionProblem } from '../identity/socket-peer.js';
import type { PermissionAuditReason } from '../permission/violation-context.js';
import type { PostureCheckId } from '../posture/types.js';
import type { SandboxReason } from '../sandbox/sandbox-error.js';

/**
 * Which module produced an event.
 *
 * @example
 * ```ts
 * import type { AuditEvent, AuditKind } from 'koa-mtls';
 *
 * const eventsByKind = new Map<AuditKind, number>();
 * const onAudit = (event: AuditEvent) => eventsByKind.set(event.kind, (eventsByKind.get(event.kind) ?? 0) + 1);
 * ```
 */
export type AuditKind = 'tls' | 'identity' | 'authz' | 'proxy' | 'sandbox' | 'posture' | 'permission';

/**
 * What the peer was, in OpenTelemetry semantic-convention names where they exist (`tls.client.*`), plus
 * `koa_mtls.*` names where they do not.
 *
 * @example
 * ```ts
 * import type { AuditEvent, PeerSummary } from 'koa-mtls';
 *
 * const onAudit = (event: AuditEvent) => {
 *   const peer: PeerSummary = event.peer ?? {};
 *   log.info({ spiffeId: peer['koa_mtls.spiffe_id'], sha256: peer['tls.client.hash.sha256'] }, event.reason);
 * };
 * ```
 */
export interface PeerSummary {
  readonly 'tls.client.subject'?: string;
  readonly 'tls.client.issuer'?: string;
  readonly 'tls.client.hash.sha256'?: string;
  readonly 'tls.client.not_before'?: string;
  readonly 'tls.client.not_after'?: string;
  readonly 'koa_mtls.spiffe_id'?: string;
  readonly 'koa_mtls.source'?: string;
  readonly 'koa_mtls.verified_by'?: string;
}

/**
 * An audit event.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import type { AuditEvent } from 'koa-mtls';
 *
 * const log = pino();
 * const onAudit = (event: AuditEvent) => log.info(event, `${event.kind} ${event.reason}`);
 * ```
 */
export interface AuditEvent {
  /** The module that decided. */
  readonly kind: AuditKind;
  /** `allow`/`deny` for decisions, `reject` for refused input, `warn` for findings that deny nothing. */
  readonly outcome: 'allow' | 'deny' | 'reject' | 'warn';
  /** A stable reason code, e.g. `PEER_UNAUTHORIZED`, `POLICY_NO_MATCH`, `PATH_DOT_SEGMENT` (see {@link AuditReason}). */
  readonly reason: AuditReason;
  /** The request id, when the request has one. */
  readonly requestId?: string;
  /** Who the peer was, when there was one. */
  readonly peer?: PeerSummary;
  /** Operator-only detail (never sent to a client). */
  readonly detail?: Readonly<Record<string, unknown>>;
  /** How many identical operational events were held back before this one (see `configureAudit`). */
  readonly suppressed?: number;
}

/**
 * Every reason code an audit event can carry, collected from the modules that emit them (one group per
 * {@link AuditKind}). A typo in an emitter, or in a hook's comparison, fails to compile.
 *
 * @example
 * ```ts
 * import type { AuditEvent, AuditReason } from 'koa-mtls';
 *
 * const paged: ReadonlySet<AuditReason> = new Set(['PEER_CERTIFICATE_EXPIRED', 'PROXY_UNTRUSTED_SOURCE']);
 * const onAudit = (event: AuditEvent) => {
 *   if (paged.has(event.reason)) log.warn(event, event.reason);
 * };
 * ```
 */
export type AuditReason =
  | TlsAuditReason
  | IdentityAuditReason
  | AuthzReason
  | SandboxAuditReason
  | PostureCheckId
  | PermissionAuditReason
  | 'SPIFFE_WORKLOAD_API_UNAVAILABLE';

/**
 * `kind: 'tls'`: a rejected handshake is `TLS_` + OpenSSL's verify code (`TLS_CERT_HAS_EXPIRED`, open-ended) or a
 * handshake reason; a rotation is applied or refused.
 */
type TlsAuditReason = `TLS_${string}` | 'TLS_CERTIFICATES_ROTATED' | 'TLS_ROTATION_REFUSED';

/** `kind: 'identity'` and `kind: 'proxy'`: what `peerCertificate` decided about the request's peer. */
type IdentityAuditReason =
  | 'PEER_IDENTIFIED'
  | 'PEER_ANONYMOUS_ROUTE'
  | 'PEER_ANONYMOUS_DENIED'
  | 'PEER_CERTIFICATE_REFUSED'
  | 'PEER_NO_SOURCE'
  | 'PEER_CHAIN_EXPIRED'
  | ConnectionProblem
  | ExtractionProblem
  | ForwardedProblem
  | 'PROXY_SOURCE_AMBIGUOUS'
  | 'PROXY_UNEXPECTED_SOURCE'
  | 'PROXY_UNTRUSTED_SOURCE';

/**
 * `kind: 'sandbox'`: a refusal's reason, a successful open, a startup finding, or a failure on the server's side
 * (descriptors exhausted, else the error's code).
 */
type SandboxAuditReason =
  | SandboxReason
  | 'OPENED'
  | 'DESCRIPTORS_EXHAUSTED'
  | KoaMtlsErrorCode
  | 'UNSAFE_PATH_MODE'
  | 'MOUNTS_UNKNOWN'
  | 'MOUNT_UNDER_ROOT';

/**
 * Receives every audit event. A hook that throws makes the request fail (500); it never turns a deny into an allow.
 *
 * @example
 * ```ts
 * import { type AuditHook, requirePeer } from 'koa-mtls';
 *
 * const onAudit: AuditHook = (event) => {
 *   if (event.outcome === 'deny') log.warn(event, event.reason);
 * };
 * const anyPeer = requirePeer({ anyPeer: true }, { onAudit });
 * ```
 */
export type AuditHook = (event: AuditEvent) => void;

/**
 * How a middleware finds the current request's id. Default: the `x-request-id` header, if present.
 *
 * @example
 * ```ts
 * import { type RequestIdResolver, requirePeer } from 'koa-mtls';
 *
 * const requestId: RequestIdResolver = (ctx) => ctx.get('x-correlation-id') || undefined;
 * const anyPeer = requirePeer({ anyPeer: true }, { requestId });
 * ```
 */
export type RequestIdResolver = (ctx: Context) => string | undefined;

/** The default {@link RequestIdResolver}: the first `x-request-id` header, capped at 200 characters. */
export const requestIdFromHeader: RequestIdResolver = (ctx) => {
  const value = ctx.get('x-request-id');
  return value === '' ? undefined : value.slice(0, 200);
};
