/**
 * The one way a running server's secure context changes: build the complete strict option set (every `mtlsOptions`
 * check plus an OpenSSL dry run), and only if that succeeds call `server.setSecureContext()`. A refused build keeps
 * the old context and is reported. Used by the certificate watcher (files) and by `koa-mtls/spiffe` (Workload API).
 *
 * @module tls/context-rotation
 */
import { createHash } from 'node:crypto';
import type { Server } from 'node:tls';
import type { AuditHook } from '../audit/event.js';
import { auditHook, emitOperationalAudit } from '../audit/hook.js';
import { KoaMtlsError } from '../errors.js';
import type { BuiltMtlsOptions } from './mtls-options.js';

/**
 * What a rotation changed.
 *
 * @example
 * ```ts
 * import type { CertificateRotation } from 'koa-mtls';
 *
 * const onRotated = (rotation: CertificateRotation) =>
 *   log.info({ from: rotation.previousFingerprint256, to: rotation.fingerprint256, notAfter: rotation.notAfter }, 'rotated');
 * ```
 */
export interface CertificateRotation {
  /** SHA-256 of the previous and the new leaf certificate (lower-case hex). */
  readonly previousFingerprint256: string;
  readonly fingerprint256: string;
  /** The new leaf's expiry. */
  readonly notAfter: Date;
  /** Whether the CA bundle or the CRLs changed. Sessions from before can then not resume. */
  readonly trustChanged: boolean;
}

/**
 * The outcome of one rotation attempt.
 *
 * @example
 * ```ts
 * import type { CertificateWatcher, ReloadResult } from 'koa-mtls';
 *
 * const reloadNow = (watcher: CertificateWatcher): boolean => {
 *   const result: ReloadResult = watcher.reload();
 *   if (result.status === 'failed') log.error(result.error, 'kept the old certificate');
 *   return result.status === 'rotated';
 * };
 * ```
 */
export type ReloadResult =
  | { readonly status: 'rotated'; readonly rotation: CertificateRotation }
  | { readonly status: 'unchanged' }
  | { readonly status: 'failed'; readonly error: Error };

/** Where a rotation reports. */
export interface RotationHooks {
  /** After a CA or CRL change, close idle keep-alive connections so clients re-handshake. */
  readonly closeIdleConnections: boolean;
  readonly onRotated: ((rotation: CertificateRotation) => void) | undefined;
  readonly onError: (error: Error) => void;
  readonly onAudit: AuditHook | undefined;
}

/** One server's secure context, changed only through {@link ContextRotation.rotate}. */
export interface ContextRotation {
  /** Builds (dry run included) and applies the next options. Never throws: the result says what happened. */
  rotate(build: () => BuiltMtlsOptions): ReloadResult;
  /** The options the server currently uses. */
  current(): BuiltMtlsOptions;
  /** The last refusal, cleared by the next successful build. */
  lastError(): Error | undefined;
}

/** Everything `server.setSecureContext` needs, in one string, to tell "same material" from "new material". */
function optionsDigest(built: BuiltMtlsOptions): string {
  const { key, cert, ca, crl } = built.options;
  return createHash('sha256')
    .update(JSON.stringify([key, cert, ca, crl ?? []]))
    .digest('hex');
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Reports a refused rotation: a `reject`/`TLS_ROTATION_REFUSED` audit event, then `onError`. A broken rotation is
 * retried and polled, so the same refusal is reported once per audit window, not once per attempt.
 */
export function reportRotationRefused(error: Error, hooks: Pick<RotationHooks, 'onAudit' | 'onError'>): void {
  let delivered = true;
  try {
    delivered = emitOperationalAudit(hooks.onAudit, {
      kind: 'tls',
      outcome: 'reject',
      reason: 'TLS_ROTATION_REFUSED',
      detail: { code: error instanceof KoaMtlsError ? error.code : 'ERR_UNKNOWN', message: error.message },
    });
  } finally {
    if (delivered) hooks.onError(error);
  }
}

/**
 * Takes over `server`'s secure context: applies `initial` now, so the context is exactly what the rotation tracks,
 * and changes it afterwards only through `rotate`.
 */
export function createContextRotation(
  server: Server,
  initial: BuiltMtlsOptions,
  hooks: RotationHooks,
): ContextRotation {
  let current = initial;
  let currentDigest = optionsDigest(initial);
  let lastError: Error | undefined;
  server.setSecureContext(current.options);

  const refuse = (error: unknown): ReloadResult => {
    const failure = asError(error);
    lastError = failure;
    reportRotationRefused(failure, hooks);
    return { status: 'failed', error: failure };
  };

  return Object.freeze({
    rotate(build: () => BuiltMtlsOptions): ReloadResult {
      let next: BuiltMtlsOptions;
      try {
        next = build();
      } catch (error) {
        // Keep the old context: a half-written rotation (new cert, old key) must never be applied
        return refuse(error);
      }
      const nextDigest = optionsDigest(next);
      lastError = undefined;
      if (nextDigest === currentDigest) return { status: 'unchanged' };
      try {
        // Always the complete option set: setSecureContext resets every option it is not given (Node tls docs)
        server.setSecureContext(next.options);
      } catch (error) {
        return refuse(error);
      }
      const rotation: CertificateRotation = Object.freeze({
        previousFingerprint256: current.fingerprint256,
        fingerprint256: next.fingerprint256,
        notAfter: next.notAfter,
        trustChanged: next.trustDigest !== current.trustDigest,
      });
      current = next;
      currentDigest = nextDigest;
      // A kept-alive connection keeps the identity it proved under the old trust until it re-handshakes
      if (rotation.trustChanged && hooks.closeIdleConnections) {
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      }
      auditHook(hooks.onAudit)?.({
        kind: 'tls',
        outcome: 'allow',
        reason: 'TLS_CERTIFICATES_ROTATED',
        detail: { ...rotation, notAfter: rotation.notAfter.toISOString() },
      });
      hooks.onRotated?.(rotation);
      return { status: 'rotated', rotation };
    },
    current: () => current,
    lastError: () => lastError,
  });
}
