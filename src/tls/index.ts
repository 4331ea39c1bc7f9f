/**
 * Strict mutual-TLS server options, certificate rotation and visible client rejections.
 *
 * @module tls
 */

export type { MtlsConfigErrorCode } from '../errors.js';
export type { PemInput } from '../trust/pem.js';
export {
  type CertificateRotation,
  type CertificateWatcher,
  type CertificateWatcherOptions,
  type ReloadResult,
  watchCertificates,
} from './certificate-watcher.js';
export { onTlsClientRejected } from './client-rejections.js';
export { type MtlsOptionsInput, type MtlsServerOptions, mtlsOptions } from './mtls-options.js';
export type { MtlsProfile } from './profile.js';
export type { MtlsWarning, MtlsWarningCode, MtlsWarningHook } from './warnings.js';
