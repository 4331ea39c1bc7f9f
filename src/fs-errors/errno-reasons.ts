/**
 * The one errno → reason map for filesystem calls made on behalf of a caller: the sandbox turns a reason into a
 * uniform 404 (or a 503 when the process is out of descriptors), the posture audit into `no` / `missing`. Both read
 * this table, so they cannot drift (errno meanings: open(2), openat2(2), errno(3)).
 *
 * @module fs-errors/errno-reasons
 */

/**
 * What a failed filesystem call means for the path it was given.
 */
export type FsErrorReason =
  | 'NOT_FOUND'
  | 'NOT_DIRECTORY'
  | 'NOT_REGULAR_FILE'
  | 'SYMLINK_REFUSED'
  | 'ACCESS_DENIED'
  | 'NAME_TOO_LONG'
  | 'EXISTS'
  | 'CROSS_DEVICE'
  | 'DESCRIPTORS_EXHAUSTED';

const REASONS: ReadonlyMap<string, FsErrorReason> = new Map<string, FsErrorReason>([
  ['ENOENT', 'NOT_FOUND'],
  ['ENOTDIR', 'NOT_DIRECTORY'],
  // A directory, or a FIFO/socket/device opened with O_NONBLOCK and no reader, or a device without a driver.
  ['EISDIR', 'NOT_REGULAR_FILE'],
  ['ENXIO', 'NOT_REGULAR_FILE'],
  ['ENODEV', 'NOT_REGULAR_FILE'],
  // O_NOFOLLOW on a symlink (open(2)).
  ['ELOOP', 'SYMLINK_REFUSED'],
  ['EACCES', 'ACCESS_DENIED'],
  ['EPERM', 'ACCESS_DENIED'],
  // Node's permission model (--permission) refuses a path before any system call.
  ['ERR_ACCESS_DENIED', 'ACCESS_DENIED'],
  ['ENAMETOOLONG', 'NAME_TOO_LONG'],
  ['EEXIST', 'EXISTS'],
  // openat2(2) RESOLVE_NO_XDEV answers EXDEV for a mount crossing.
  ['EXDEV', 'CROSS_DEVICE'],
  // The process (EMFILE) or the system (ENFILE) is out of descriptors: a load condition, not a property of the path.
  ['EMFILE', 'DESCRIPTORS_EXHAUSTED'],
  ['ENFILE', 'DESCRIPTORS_EXHAUSTED'],
]);

/**
 * The reason for an errno code, or `undefined` for an unexpected one (a server-side failure).
 */
export function errnoReason(code: string | undefined): FsErrorReason | undefined {
  return code === undefined ? undefined : REASONS.get(code);
}

/**
 * The errno code of a thrown Node.js system error, or `undefined`.
 */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
