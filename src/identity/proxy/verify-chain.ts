/**
 * App-side re-verification of a forwarded certificate. A proxy may pass on a certificate it never verified (nginx
 * `ssl_verify_client optional_no_ca`, an ALB in passthrough), so the chain is verified here by the one trust engine
 * (`src/trust`), with the forwarded chain only as untrusted intermediates: the same chain gets the same verdict as
 * in a direct handshake with the same trust. Time is not decided here: the result carries the path's validity
 * window, which the caller checks on every request.
 */

import type { PathProblem, TrustCertificate, VerifiedPath } from '../../trust/path.js';
import type { TrustState } from '../../trust/trust.js';
import type { ParsedCertificate } from '../parse-certificate.js';

/** Why a forwarded certificate failed re-verification: the codes the audit hook receives. */
export type VerifyProblem =
  | 'PROXY_CHAIN_UNTRUSTED'
  | 'PROXY_CERTIFICATE_REVOKED'
  | 'PROXY_CRL_UNAVAILABLE'
  | 'PROXY_WEAK_KEY'
  | 'PROXY_WEAK_SIGNATURE'
  | 'PROXY_LEAF_UNUSABLE';

export type VerifyOutcome =
  | { readonly ok: true; readonly path: VerifiedPath; readonly spiffeId: string | undefined }
  | { readonly ok: false; readonly reason: VerifyProblem; readonly problem: string };

const reasons: Readonly<Record<PathProblem, VerifyProblem>> = {
  CHAIN_UNTRUSTED: 'PROXY_CHAIN_UNTRUSTED',
  CERTIFICATE_REVOKED: 'PROXY_CERTIFICATE_REVOKED',
  CRL_UNAVAILABLE: 'PROXY_CRL_UNAVAILABLE',
  WEAK_KEY: 'PROXY_WEAK_KEY',
  WEAK_SIGNATURE: 'PROXY_WEAK_SIGNATURE',
  LEAF_UNUSABLE: 'PROXY_LEAF_UNUSABLE',
};

/**
 * Verifies `leaf` (already parsed with the request limits) with `forwarded` as untrusted intermediates, at `time`.
 * `spiffeId` is the leaf's own only when the path ends at its trust domain's bundle. Never throws.
 */
export function verifyChain(
  leaf: ParsedCertificate,
  leafCertificate: TrustCertificate,
  forwarded: readonly TrustCertificate[],
  trust: TrustState,
  time: number,
): VerifyOutcome {
  const { outcome, spiffeVouched } = trust.verify(leafCertificate, forwarded, time, leaf.spiffeId);
  if (!outcome.ok) return { ok: false, reason: reasons[outcome.problem], problem: outcome.detail };
  return { ok: true, path: outcome.path, spiffeId: spiffeVouched ? leaf.spiffeId : undefined };
}
