/**
 * The error a sandbox throws for a refused path: a {@link KoaMtlsError} with a 400 or 404 status, a generic message
 * and an internal `reason` code for audit hooks (never shown to a client).
 *
 * @module sandbox/sandbox-error
 */
import { KoaMtlsError } from '../errors.js';
import { errnoCode, errnoReason, type FsErrorReason } from '../fs-errors/errno-reasons.js';
import type { SandboxPathReason } from './lexical.js';

/**
 * Why a path that passed the lexical rules was still refused. Every one of these answers 404.
 *
 * @example
 * ```ts
 * import { createSandbox, sandboxPath } from 'koa-mtls';
 *
 * const sandbox = await createSandbox('/srv/files');
 * const files = sandboxPath({
 *   sandbox,
 *   from: (ctx) => ctx.query.file,
 *   onAudit: (event) => { if (event.reason === 'SYMLINK_ESCAPE') log.error(event, 'symlink escape attempt'); },
 * });
 * ```
 */
export type SandboxDenyReason =
  | Exclude<FsErrorReason, 'DESCRIPTORS_EXHAUSTED'>
  | 'SYMLINK_ABSOLUTE'
  | 'SYMLINK_ESCAPE'
  | 'SYMLINK_TOO_MANY'
  | 'TOO_MANY_STEPS'
  | 'MULTIPLE_LINKS'
  | 'OUTSIDE_ROOT'
  | 'GLOB_NOT_ALLOWED'
  | 'GLOB_DENIED';

/**
 * Every reason a sandbox can give for a refusal.
 *
 * @example
 * ```ts
 * import { type SandboxReason, SandboxPathError } from 'koa-mtls';
 *
 * const reasonOf = (err: unknown): SandboxReason => (err instanceof SandboxPathError ? err.reason : 'NOT_FOUND');
 * ```
 */
export type SandboxReason = SandboxPathReason | SandboxDenyReason;

/**
 * A refused sandbox path. `status` is 400 (`ERR_SANDBOX_INVALID_PATH`, the input alone is bad) or 404
 * (`ERR_SANDBOX_NOT_FOUND`, anything that depends on the filesystem). `message` is the generic status text.
 *
 * @example
 * ```ts
 * import { createSandbox, SandboxPathError } from 'koa-mtls';
 *
 * const sandbox = await createSandbox('/srv/files');
 * try {
 *   await sandbox.open('link-to-etc/passwd');
 * } catch (err) {
 *   if (err instanceof SandboxPathError) console.log(err.status, err.code, err.reason); // 404 ERR_SANDBOX_NOT_FOUND SYMLINK_ESCAPE
 * }
 * ```
 */
export class SandboxPathError extends KoaMtlsError {
  /** The internal reason code (operator-only). */
  readonly reason: SandboxReason;

  constructor(status: 400 | 404, reason: SandboxReason, cause?: unknown) {
    super(
      status === 400 ? 'ERR_SANDBOX_INVALID_PATH' : 'ERR_SANDBOX_NOT_FOUND',
      status === 400 ? 'Bad Request' : 'Not Found',
      cause === undefined ? { status } : { status, cause },
    );
    this.reason = reason;
  }
}

/**
 * Shorthand for a 404 refusal.
 */
export const notFound = (reason: SandboxDenyReason, cause?: unknown): SandboxPathError =>
  new SandboxPathError(404, reason, cause);

/**
 * Maps a failed filesystem call to what the request gets: a 404 {@link SandboxPathError} when the errno describes the
 * path, a 503 `ERR_SANDBOX_BUSY` when the process or the system is out of descriptors (retrying later can succeed),
 * and a 500 `ERR_SANDBOX_IO` for anything unexpected.
 */
export function refusal(err: unknown): SandboxPathError | KoaMtlsError {
  const reason = errnoReason(errnoCode(err));
  if (reason === 'DESCRIPTORS_EXHAUSTED') {
    return new KoaMtlsError('ERR_SANDBOX_BUSY', 'Service Unavailable', { status: 503, cause: err });
  }
  if (reason !== undefined) return notFound(reason, err);
  return new KoaMtlsError('ERR_SANDBOX_IO', 'Internal Server Error', { status: 500, cause: err });
}
