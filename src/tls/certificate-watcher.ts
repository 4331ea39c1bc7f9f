/**
 * Certificate rotation without a restart, for short-lived certificates (SPIRE SVIDs via spiffe-helper,
 * cert-manager Secrets). After Envoy's `watched_directory`, nginx's reload and Go's `GetCertificate`:
 * watch the directories, poll the contents, debounce, read everything, validate fully,
 * dry-run the secure context, then `server.setSecureContext()` with the complete strict option set. Any failure
 * keeps the old context.
 *
 * @module tls/certificate-watcher
 */
import { resolve } from 'node:path';
import type { Server } from 'node:tls';
import type { AuditHook } from '../audit/event.js';
import { InvalidOptionError, KoaMtlsError } from '../errors.js';
import { assertOptionsObject, optionalBoolean, optionalFunction, optionalInteger } from '../options/validate.js';
import type { Trust } from '../trust/trust.js';
import { type CertificateRotation, createContextRotation, type ReloadResult } from './context-rotation.js';
import { createRetryTimer, pollContents, watchDirectoriesOf } from './file-watch.js';
import { buildMtlsOptions, type CompiledMtlsInput, compileMtlsInput, type MtlsOptionsInput } from './mtls-options.js';

export type { CertificateRotation, ReloadResult } from './context-rotation.js';

/**
 * Options of {@link watchCertificates}.
 *
 * @example
 * ```ts
 * import type { CertificateWatcherOptions } from 'koa-mtls';
 *
 * const options: CertificateWatcherOptions = {
 *   pollIntervalMs: 60_000,
 *   onRotated: (rotation) => log.info(rotation, 'TLS certificate rotated'),
 *   onError: (error) => log.error(error, 'TLS certificate reload refused'),
 * };
 * ```
 */
export interface CertificateWatcherOptions {
  /** Quiet time after the last file event before reloading, in ms, 0–60000. Default 300 (spiffe-helper writes three files). */
  readonly debounceMs?: number;
  /** Content poll interval, in ms, 100–3600000. Default 30000. Catches events the directory watch misses (NFS). */
  readonly pollIntervalMs?: number;
  /** First retry delay after a failed reload, in ms, doubling up to `pollIntervalMs`. Default 1000. */
  readonly retryMs?: number;
  /** After a CA or CRL change, close idle keep-alive connections so clients re-handshake. Default true. */
  readonly closeIdleConnections?: boolean;
  /** Watch the directories with `fs.watch`. Default true; `false` relies on polling and `reload()` only. */
  readonly watch?: boolean;
  /** Called after each applied rotation. */
  readonly onRotated?: (rotation: CertificateRotation) => void;
  /** Called for each refused reload (the old context stays). Default `process.emitWarning`. */
  readonly onError?: (error: Error) => void;
  /** Receives `tls` audit events: `allow`/`TLS_CERTIFICATES_ROTATED` and `reject`/`TLS_ROTATION_REFUSED`. */
  readonly onAudit?: AuditHook;
}

/**
 * A running watcher.
 *
 * @example
 * ```ts
 * import type { CertificateWatcher } from 'koa-mtls';
 *
 * // Readiness: the served certificate is valid for another day and the last reload was not refused.
 * const ready = (watcher: CertificateWatcher): boolean => {
 *   const { notAfter, lastError } = watcher.status();
 *   return lastError === undefined && notAfter.getTime() - Date.now() > 86_400_000;
 * };
 * ```
 */
export interface CertificateWatcher {
  /** Reads, validates and applies the files now. Never throws for bad files: the result says what happened. */
  reload(): ReloadResult;
  /** Stops watching and polling; no timer or watcher is left. Idempotent. */
  close(): void;
  /** The leaf currently served and the last refusal, for readiness probes. */
  status(): { readonly fingerprint256: string; readonly notAfter: Date; readonly lastError: Error | undefined };
}

const KNOWN_KEYS = [
  'debounceMs',
  'pollIntervalMs',
  'retryMs',
  'closeIdleConnections',
  'watch',
  'onRotated',
  'onError',
  'onAudit',
] as const;

const PATH = 'watchCertificates.options';

function defaultOnError(error: Error): void {
  process.emitWarning(error.message, {
    type: 'KoaMtlsWarning',
    code: error instanceof KoaMtlsError ? error.code : 'MTLS_ROTATION_FAILED',
  });
}

/** The watcher's options, checked once, with their defaults. */
interface WatcherSettings {
  readonly debounceMs: number;
  readonly pollIntervalMs: number;
  readonly retryMs: number;
  readonly closeIdleConnections: boolean;
  readonly watch: boolean;
  readonly onRotated: ((rotation: CertificateRotation) => void) | undefined;
  readonly onError: (error: Error) => void;
  readonly onAudit: AuditHook | undefined;
}

/** Validates `options` (throws {@link InvalidOptionError} at startup) and applies the defaults. */
export function watcherSettings(options: CertificateWatcherOptions): WatcherSettings {
  assertOptionsObject(options, PATH, KNOWN_KEYS);
  return {
    debounceMs: optionalInteger(options, 'debounceMs', PATH, 0, 60_000) ?? 300,
    pollIntervalMs: optionalInteger(options, 'pollIntervalMs', PATH, 100, 3_600_000) ?? 30_000,
    retryMs: optionalInteger(options, 'retryMs', PATH, 10, 3_600_000) ?? 1000,
    closeIdleConnections: optionalBoolean(options, 'closeIdleConnections', PATH) ?? true,
    watch: optionalBoolean(options, 'watch', PATH) ?? true,
    onRotated: optionalFunction<(rotation: CertificateRotation) => void>(options, 'onRotated', PATH),
    onError: optionalFunction<(error: Error) => void>(options, 'onError', PATH) ?? defaultOnError,
    onAudit: optionalFunction<AuditHook>(options, 'onAudit', PATH),
  };
}

/**
 * The absolute paths of every file the compiled input reads (key, certificate, CA, CRL, the trust's own files).
 * Throws {@link InvalidOptionError} when there is nothing to follow: inline PEM never changes.
 */
export function watchedFiles(compiled: CompiledMtlsInput): readonly string[] {
  const files = [
    ...[compiled.key, compiled.cert, compiled.ca, compiled.crl].flatMap((spec) =>
      spec?.kind === 'file' ? [resolve(spec.path)] : [],
    ),
    ...(compiled.trust?.files ?? []).map((file) => resolve(file)),
  ];
  if (files.length === 0 && compiled.trust === undefined) {
    throw new InvalidOptionError(
      'watchCertificates.input',
      'must name at least one file (keyFile, certFile, caFile, crlFile) or a trust',
    );
  }
  return files;
}

/** A trust the watcher reloads with the files, and follows when it changes elsewhere. */
interface TrustFollower {
  /** Re-reads the trust's own files; its change event is not reported back to `onExternalChange`. */
  reloadFiles(): void;
  /** Stops following. */
  close(): void;
}

/**
 * Follows `trust`: a change made elsewhere (`update()`, a SPIFFE bundle push) calls `onExternalChange`, so it rotates
 * the server's context like a file change; the watcher's own `reloadFiles()` does not. A refused bundle keeps the old
 * trust (and so the old context).
 */
export function followTrust(
  trust: Pick<Trust, 'files' | 'reload' | 'onChange'> | undefined,
  onExternalChange: () => void,
): TrustFollower {
  let reloading = false;
  const unsubscribe = trust?.onChange(() => {
    if (!reloading) onExternalChange();
  });
  return {
    reloadFiles() {
      if (trust === undefined || trust.files.length === 0) return;
      reloading = true;
      try {
        trust.reload();
      } finally {
        reloading = false;
      }
    },
    close: () => unsubscribe?.(),
  };
}

/**
 * Watches the certificate files of `input` and rotates `server`'s secure context when they change.
 *
 * Detection: `fs.watch` on each file's **directory** (a Kubernetes `..data` symlink swap replaces the files, so a
 * file watch goes deaf after the first swap), a content poll, and manual `reload()`. After a burst of events it
 * waits `debounceMs`, reads every file, runs every `mtlsOptions` check plus an OpenSSL dry run, and only then calls
 * `server.setSecureContext()` with the complete strict option set (partial options would reset the protocol floor
 * and the trust store). A half-written set (a new certificate with the old key) is refused, reported to
 * `onError`, and retried with backoff; the old context keeps serving.
 *
 * After a CA or CRL change, sessions from before cannot resume: the new context has fresh ticket keys and a new
 * `sessionIdContext`; idle keep-alive connections are closed so their clients re-handshake.
 *
 * It throws at startup, like `mtlsOptions`, when the files are invalid now.
 *
 * @example
 * ```ts
 * import https from 'node:https';
 * import { mtlsOptions, watchCertificates } from 'koa-mtls';
 *
 * const tlsFiles = { keyFile: '/etc/tls/tls.key', certFile: '/etc/tls/tls.crt', caFile: '/etc/tls/ca.crt' };
 * const server = https.createServer(mtlsOptions(tlsFiles), app.callback());
 * const watcher = watchCertificates(server, tlsFiles, { onError: (err) => log.error(err) });
 * process.on('SIGHUP', () => watcher.reload()); // spiffe-helper renew_signal
 * server.on('close', () => watcher.close());
 * ```
 */
export function watchCertificates(
  server: Server,
  input: MtlsOptionsInput,
  options: CertificateWatcherOptions = {},
): CertificateWatcher {
  if (typeof server?.setSecureContext !== 'function') {
    throw new InvalidOptionError('watchCertificates.server', 'must be a TLS server (https, http2 secure or tls)');
  }
  const settings = watcherSettings(options);
  const compiled = compileMtlsInput(input);
  const files = watchedFiles(compiled);

  // Throws, like mtlsOptions, when the files are invalid now: nothing is watched or polled yet
  const rotation = createContextRotation(server, buildMtlsOptions(compiled), settings);
  const poll = pollContents(files, settings.pollIntervalMs, () => timer.schedule(settings.debounceMs));
  let closed = false;
  const reload = (): ReloadResult => {
    if (closed) throw new Error('watchCertificates: reload() after close()');
    poll.markSeen();
    return rotation.rotate(() => {
      // The trust re-reads its own files first; a refused bundle keeps the old trust (and the old context)
      trust.reloadFiles();
      return buildMtlsOptions(compiled);
    });
  };
  // Retry with backoff: spiffe-helper's second write is probably still in flight
  const timer = createRetryTimer(
    { firstMs: settings.retryMs, maxMs: settings.pollIntervalMs },
    () => reload().status !== 'failed',
  );
  const trust = followTrust(compiled.trust, () => {
    if (!closed) reload();
  });
  const unwatch = settings.watch ? watchDirectoriesOf(files, () => timer.schedule(settings.debounceMs)) : undefined;

  return Object.freeze({
    reload,
    close(): void {
      if (closed) return;
      closed = true;
      trust.close();
      poll.close();
      timer.close();
      unwatch?.();
    },
    status() {
      const { fingerprint256, notAfter } = rotation.current();
      return { fingerprint256, notAfter, lastError: rotation.lastError() };
    },
  });
}
