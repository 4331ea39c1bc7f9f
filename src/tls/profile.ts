/**
 * The protocol side of the strict option set: Mozilla Server Side TLS 6.0 suites and
 * groups, pinned at OpenSSL security level 2, groups chosen by the OpenSSL version Node runs on.
 *
 * @module tls/profile
 */

/**
 * `modern`: TLS 1.3 only (the default). `intermediate`: TLS 1.2 and 1.3 with Mozilla's six ECDHE AEAD suites.
 *
 * @example
 * ```ts
 * import type { MtlsProfile } from 'koa-mtls';
 *
 * // TLS 1.2 only while old clients remain:
 * const profile: MtlsProfile = process.env.LEGACY_TLS12_CLIENTS === '1' ? 'intermediate' : 'modern';
 * ```
 */
export type MtlsProfile = 'modern' | 'intermediate';

/** Mozilla 6.0 `ciphersuites` (TLS 1.3). */
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/** Mozilla 6.0 Intermediate `ciphers.openssl` (TLS 1.2): ECDHE + AEAD only, no CBC, no DHE. */
const TLS12_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * The cipher string. The TLS 1.2 suites stay in it even for `modern`: a string of only TLS 1.3 names plus
 * `@SECLEVEL=2` throws "no cipher match" under OpenSSL 3; `minVersion` keeps TLS 1.2 off.
 * `@SECLEVEL=2` rejects RSA < 2048 and SHA-1 peers whatever Node's default level is.
 */
export const STRICT_CIPHERS = `${TLS13_SUITES}:${TLS12_SUITES}:@SECLEVEL=2`;

/** Whether an OpenSSL version string (`3.0.19`, `3.5.2+quic`) is at least 3.5, which added X25519MLKEM768. */
export function supportsHybridPostQuantum(openssl: string): boolean {
  const [major = 0, minor = 0] = openssl.split('.').map((part) => Number.parseInt(part, 10));
  return major > 3 || (major === 3 && minor >= 5);
}

/**
 * Mozilla 6.0 `tls_curves`. X25519MLKEM768 only where OpenSSL knows it: on OpenSSL 3.0 it makes
 * `createSecureContext` throw "Failed to set ECDH curve" (mozilla/ssl-config-generator#375).
 */
export function strictGroups(openssl: string): string {
  return `${supportsHybridPostQuantum(openssl) ? 'X25519MLKEM768:' : ''}X25519:prime256v1:secp384r1`;
}
