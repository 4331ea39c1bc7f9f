/**
 * Builds the one kind of error `mtlsOptions` and certificate rotation throw: a {@link KoaMtlsError} with an
 * `ERR_MTLS_CONFIG_*` code, a message naming what is wrong (a file path or an option name) and how to fix it.
 *
 * @module tls/config-error
 */
import { KoaMtlsError, type KoaMtlsErrorCode } from '../errors.js';

/**
 * An `ERR_MTLS_CONFIG_*` code.
 *
 * @example
 * ```ts
 * import type { KoaMtlsErrorCode, MtlsConfigErrorCode } from 'koa-mtls';
 *
 * const isConfigError = (code: KoaMtlsErrorCode): code is MtlsConfigErrorCode => code.startsWith('ERR_MTLS_CONFIG_');
 * ```
 */
export type MtlsConfigErrorCode = Extract<KoaMtlsErrorCode, `ERR_MTLS_CONFIG_${string}`>;

/** `<where>: <problem>. Fix: <fix>` — operators read these at startup, so every message says what to change. */
export function configError(
  code: MtlsConfigErrorCode,
  where: string,
  problem: string,
  fix: string,
  cause?: unknown,
): KoaMtlsError {
  return new KoaMtlsError(code, `${where}: ${problem}. Fix: ${fix}`, cause === undefined ? {} : { cause });
}
