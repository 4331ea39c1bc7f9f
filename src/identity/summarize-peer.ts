/**
 * The audit summary of a peer, in OpenTelemetry `tls.client.*` names.
 *
 * @module identity
 */
import type { PeerSummary } from '../audit/event.js';
import type { PeerIdentity } from './peer-identity.js';

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
 *   if (ctx.state.peer) onAudit({ kind: 'authz', outcome: 'allow', reason: 'CUSTOM', peer: summarizePeer(ctx.state.peer) });
 *   await next();
 * });
 * ```
 */
export function summarizePeer(peer: PeerIdentity): PeerSummary {
  const summary: Record<string, string> = {
    'tls.client.subject': peer.subject.toString(),
    'tls.client.issuer': peer.issuer.toString(),
    'tls.client.hash.sha256': peer.fingerprint256.toUpperCase(),
    'tls.client.not_before': peer.notBefore.toISOString(),
    'tls.client.not_after': peer.notAfter.toISOString(),
    'koa_mtls.source': peer.source,
    'koa_mtls.verified_by': peer.verifiedBy,
  };
  if (peer.spiffeId !== undefined) summary['koa_mtls.spiffe_id'] = peer.spiffeId;
  return Object.freeze(summary) as PeerSummary;
}
