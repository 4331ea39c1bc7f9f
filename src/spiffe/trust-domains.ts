/**
 * The one place where Workload API bundles reach a trust object: each applied update replaces the whole set of
 * trust-domain bundles (Workload API §4.4: a domain missing from an update is unloaded).
 *
 * @module spiffe/trust-domains
 */

/**
 * What `koa-mtls/spiffe` needs of a trust object (the one `createTrust` returns, shared with `peerCertificate`):
 * `update` replaces the trust-domain bundles, validating them first and throwing (keeping its old state) on error.
 */
export interface TrustDomainsTarget {
  update(next: { readonly trustDomains: Readonly<Record<string, readonly string[]>> }): void;
}

/** Replaces the target's trust-domain bundles with `trustDomains` (name → PEM certificates). */
export function updateTrustDomains(
  target: TrustDomainsTarget,
  trustDomains: Readonly<Record<string, readonly string[]>>,
): void {
  target.update({ trustDomains });
}
