/**
 * The audit summary of a peer, in OpenTelemetry `tls.client.*` names.
 *
 * @module identity
 */
import type { PeerSummary } from '../audit/event.js';
import type { DistinguishedName, PeerIdentity } from './peer-identity.js';

/** What the `tls.client.*` attributes are made of: a verified peer's, or a parsed (rejected) certificate's. */
export interface SummarizedCertificate {
  readonly subject: DistinguishedName;
  readonly issuer: DistinguishedName;
  readonly fingerprint256: string;
  /** A `Date` (a {@link PeerIdentity}) or epoch milliseconds (a parsed certificate). */
  readonly notBefore: Date | number;
  readonly notAfter: Date | number;
}

const isoTime = (time: Date | number): string => (typeof time === 'number' ? new Date(time) : time).toISOString();

/**
 * The OpenTelemetry `tls.client.*` attributes of a certificate: the one rendering of a certificate in audit events,
 * for a verified peer ({@link summarizePeer}) and for a client the handshake rejected.
 */
export function tlsClientAttributes(certificate: SummarizedCertificate): Record<string, string> {
  return {
    'tls.client.subject': certificate.subject.toString(),
    'tls.client.issuer': certificate.issuer.toString(),
    'tls.client.hash.sha256': certificate.fingerprint256.toUpperCase(),
    'tls.client.not_before': isoTime(certificate.notBefore),
    'tls.client.not_after': isoTime(certificate.notAfter),
  };
}

/**
 * Summarizes a peer for an {@link AuditEvent}: subject and issuer in RFC 4514 form, the certificate's SHA-256 in
 * upper-case hex (as OpenTelemetry's `tls.client.hash.sha256` examples show), validity in ISO 8601, and the SPIFFE
 * ID, source and verifier. Never throws.
 *
 * @example
 * ```ts
 * import { type AuditHook, summarizePeer } from 'koa-mtls';
 *
 * const onAudit: AuditHook = (event) => log.info(event);
 * app.use(async (ctx, next) => {
 *   if (ctx.state.peer) onAudit({ kind: 'authz', outcome: 'allow', reason: 'POLICY_MATCH', peer: summarizePeer(ctx.state.peer) });
 *   await next();
 * });
 * ```
 */
export function summarizePeer(peer: PeerIdentity): PeerSummary {
  const summary = tlsClientAttributes(peer);
  summary['koa_mtls.source'] = peer.source;
  summary['koa_mtls.verified_by'] = peer.verifiedBy;
  if (peer.spiffeId !== undefined) summary['koa_mtls.spiffe_id'] = peer.spiffeId;
  return Object.freeze(summary) as PeerSummary;
}
