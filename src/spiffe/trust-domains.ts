/**
 * The one place where Workload API bundles reach a trust object: each applied update replaces the whole set of
 * trust-domain bundles (Workload API §4.4: a domain missing from an update is unloaded).
 *
 * @module spiffe/trust-domains
 */

/**
 * What `koa-mtls/spiffe` needs of a trust object (the one `createTrust` returns, shared with `peerCertificate`):
 * `update` replaces the trust-domain bundles, validating them first and throwing (keeping its old state) on error.
 *
 * @example
 * ```ts
 * import { createTrust } from 'koa-mtls';
 * import type { TrustDomainsTarget } from 'koa-mtls/spiffe';
 *
 * // The trust createTrust() returns is one; spiffeMtls({ trust }) replaces its trust-domain bundles.
 * const target: TrustDomainsTarget = createTrust({ ca: { file: '/etc/tls/corp-ca.crt' } });
 * ```
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
