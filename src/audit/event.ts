/**
 * One audit event shape for every decision and rejection in every module. Nothing is logged by default: events
 * reach only the `onAudit` hook a caller passes to a factory. The peer summary uses OpenTelemetry's `tls.client.*`
 * attribute names, so an event drops straight into pino or a tracing span.
 *
 * @module audit
 */
import type { Context } from 'koa';

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
  /** A stable reason code, e.g. `PEER_UNAUTHORIZED`, `POLICY_NO_MATCH`, `PATH_DOT_SEGMENT`. */
  readonly reason: string;
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
