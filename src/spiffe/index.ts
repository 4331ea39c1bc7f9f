/**
 * `koa-mtls/spiffe`: the SPIFFE Workload API (X.509 profile) as a source of the server's SVID, key and trust
 * bundles, in memory. A separate entry point so that `koa-mtls` itself never loads gRPC.
 *
 * @module koa-mtls/spiffe
 */
export {
  type SpiffeMtls,
  type SpiffeMtlsOptions,
  type SpiffeMtlsStatus,
  type SpiffeTlsSettings,
  spiffeMtls,
} from './spiffe-mtls.js';
export type { TrustDomainsTarget } from './trust-domains.js';
export {
  createWorkloadApiClient,
  type WorkloadApiClient,
  type WorkloadApiClientOptions,
  type WorkloadApiWatcher,
  type X509BundlesMessage,
  type X509SvidMessage,
} from './workload-api-client.js';
