/**
 * Findings that deny nothing but need an operator: an expiring certificate, a world-readable key, a stale CRL, an
 * end-of-life Node.js, TLS key logging. Delivered to the `onWarning` hook (default `process.emitWarning`).
 *
 * @module tls/warnings
 */

/**
 * Stable warning codes.
 *
 * @example
 * ```ts
 * import type { MtlsWarning, MtlsWarningCode } from 'koa-mtls';
 *
 * const urgent: readonly MtlsWarningCode[] = ['MTLS_CERT_EXPIRING', 'MTLS_CRL_STALE'];
 * const onWarning = (warning: MtlsWarning) => {
 *   if (urgent.includes(warning.code)) log.error(warning, warning.message);
 *   else log.warn(warning, warning.message);
 * };
 * ```
 */
export type MtlsWarningCode =
  | 'MTLS_CERT_EXPIRING'
  | 'MTLS_KEY_WORLD_READABLE'
  | 'MTLS_CRL_STALE'
  | 'MTLS_NODE_EOL'
  | 'MTLS_TLS_KEYLOG'
  | 'MTLS_CLIENT_CERTIFICATE_OPTIONAL';

/**
 * One warning.
 *
 * @example
 * ```ts
 * import { mtlsOptions, type MtlsWarning } from 'koa-mtls';
 *
 * const onWarning = (w: MtlsWarning) => log.warn({ code: w.code, file: w.file }, w.message);
 * const options = mtlsOptions({ keyFile: 'tls.key', certFile: 'tls.crt', caFile: 'ca.crt', onWarning });
 * ```
 */
export interface MtlsWarning {
  readonly code: MtlsWarningCode;
  /** What was found and what to do; may name a file path (operator-only, never sent to a client). */
  readonly message: string;
  /** The file concerned, when there is one. */
  readonly file?: string;
}

/**
 * Receives warnings. A hook that throws makes `mtlsOptions` (or the rotation) fail: warnings are never lost.
 *
 * @example
 * ```ts
 * import { type MtlsWarningHook, mtlsOptions } from 'koa-mtls';
 *
 * const onWarning: MtlsWarningHook = (warning) => log.warn({ code: warning.code, file: warning.file }, warning.message);
 * const options = mtlsOptions({ keyFile: 'tls.key', certFile: 'tls.crt', caFile: 'ca.crt', onWarning });
 * ```
 */
export type MtlsWarningHook = (warning: MtlsWarning) => void;

/** The default hook: `process.emitWarning` with type `KoaMtlsWarning` and the warning's code. */
export const emitProcessWarning: MtlsWarningHook = (warning) => {
  process.emitWarning(warning.message, { type: 'KoaMtlsWarning', code: warning.code });
};

/** End of life per major (https://github.com/nodejs/Release/blob/main/schedule.json). */
const nodeEndOfLife: Readonly<Record<number, string>> = {
  18: '2025-04-30',
  19: '2023-06-01',
  20: '2026-04-30',
  21: '2024-06-01',
  22: '2027-04-30',
  23: '2025-06-01',
  24: '2028-04-30',
  25: '2026-06-01',
  26: '2029-04-30',
  27: '2027-06-01',
};

/** The EOL warning for `version` (e.g. `v20.20.2`) at `now`, if the major is past its end of life. */
export function nodeEndOfLifeWarning(version: string, now: Date): MtlsWarning | undefined {
  const major = Number.parseInt(version.replace(/^v/, ''), 10);
  const eol = nodeEndOfLife[major];
  // Majors older than the table are long past EOL; newer ones are unknown and assumed supported
  const past = eol === undefined ? major < 18 : now.getTime() > Date.parse(`${eol}T00:00:00Z`);
  if (!past) return undefined;
  return {
    code: 'MTLS_NODE_EOL',
    message: `Node.js ${version} is past its end of life (${eol ?? 'long ago'}) and gets no OpenSSL security fixes; upgrade to a supported LTS`,
  };
}

/**
 * A warning when `--tls-keylog` or `--trace-tls` writes session secrets or handshake traces out for every connection:
 * whoever reads a key log decrypts the recorded traffic.
 */
export function keylogWarning(execArgv: readonly string[], nodeOptions: string | undefined): MtlsWarning | undefined {
  const flags = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  const found = flags.filter((flag) => flag.startsWith('--tls-keylog') || flag === '--trace-tls');
  if (found.length === 0) return undefined;
  return {
    code: 'MTLS_TLS_KEYLOG',
    message: `Node.js runs with ${found.join(' ')}: TLS session keys or handshake traces are written for every connection; remove the flag outside debugging`,
  };
}

/** The startup warning of `clientCertificate: 'optional'`: what the mode lets in, and what still keeps it closed. */
export const optionalClientCertificateWarning: MtlsWarning = Object.freeze({
  code: 'MTLS_CLIENT_CERTIFICATE_OPTIONAL',
  message:
    "clientCertificate is 'optional': clients without a certificate can connect; peerCertificate answers them 401 on every route not declared with allowAnonymous(), so an app without peerCertificate serves them (a presented certificate that fails verification is still refused at the handshake)",
});
