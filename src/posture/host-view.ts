/**
 * Read-only access to `/proc`, `/sys` and path metadata under a root directory (default `/`). It only reads files,
 * reads links, opens read-only and calls `stat`/`access`: nothing is written and nothing is executed. Every failure
 * is returned as a value (with its errno code), so each check can say `unknown` instead of guessing.
 */
import {
  accessSync,
  closeSync,
  constants,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  type Stats,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { errnoReason } from '../fs-errors/errno-reasons.js';

/**
 * A file's text, or why it could not be read (an errno code such as `ENOENT`, `EACCES`, `EISDIR`).
 */
export type ReadResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly error: string };

/**
 * A path's metadata, or why it could not be read.
 */
export type StatResult = { readonly ok: true; readonly stats: Stats } | { readonly ok: false; readonly error: string };

/**
 * Whether an operation is allowed: `yes`, `no` (EACCES/EPERM), `missing` (ENOENT/ENOTDIR), or the errno that makes
 * it unknown.
 */
export type AccessResult = 'yes' | 'no' | 'missing' | { readonly error: string };

/** The largest file read (mountinfo on a busy node is well under this). */
const MAX_READ_BYTES = 4 * 1024 * 1024;

/**
 * The read-only view of one root directory.
 */
export interface HostView {
  /** The root every path is read under. */
  readonly root: string;
  /** Reads a small text file, e.g. `/proc/self/status`. */
  readText(path: string): ReadResult;
  /** Reads a symbolic link's target, e.g. `/proc/self/ns/pid`. */
  readLink(path: string): ReadResult;
  /** `stat` (follows links). */
  stat(path: string): StatResult;
  /** `lstat` (does not follow links). */
  lstat(path: string): StatResult;
  /**
   * Whether the process may read (and, for directories, list) the path, decided by a real read-only `open(2)`: the
   * kernel applies the effective UID, capabilities (CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE), ptrace rules of
   * `/proc/<pid>/*` and LSMs, which `access(2)` (real UID, no ptrace check) does not.
   */
  canRead(path: string): AccessResult;
  /** Whether the process may write the path (for a socket: connect to it). `access(2)` only: nothing is written. */
  canWrite(path: string): AccessResult;
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return 'EUNKNOWN';
}

function accessResult(error: unknown): AccessResult {
  const code = errorCode(error);
  // The one errno map the sandbox uses too (EACCES, EPERM and the permission model's ERR_ACCESS_DENIED are denials).
  const reason = errnoReason(code);
  if (reason === 'ACCESS_DENIED') return 'no';
  if (reason === 'NOT_FOUND' || reason === 'NOT_DIRECTORY') return 'missing';
  return { error: code };
}

function checkAccess(path: string, mode: number): AccessResult {
  try {
    accessSync(path, mode);
    return 'yes';
  } catch (error) {
    return accessResult(error);
  }
}

// O_NONBLOCK: a FIFO planted at a checked path must not block the audit; O_NOCTTY: a tty must not become ours
const PROBE_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

function checkOpen(path: string): AccessResult {
  let fd: number;
  try {
    fd = openSync(path, PROBE_FLAGS);
  } catch (error) {
    return accessResult(error);
  }
  closeSync(fd);
  return 'yes';
}

/**
 * Creates the view of `root`. Container paths (`/proc/self/status`) are joined under it.
 */
export function createHostView(root: string): HostView {
  const at = (path: string): string => (root === '/' ? path : join(root, path));
  return Object.freeze({
    root,
    readText(path: string): ReadResult {
      try {
        const buffer = readFileSync(at(path));
        // a file larger than any /proc file we parse is not what we expect: treat it as unreadable
        if (buffer.length > MAX_READ_BYTES) return { ok: false, error: 'EFBIG' };
        return { ok: true, text: buffer.toString('utf8') };
      } catch (error) {
        return { ok: false, error: errorCode(error) };
      }
    },
    readLink(path: string): ReadResult {
      try {
        return { ok: true, text: readlinkSync(at(path)) };
      } catch (error) {
        return { ok: false, error: errorCode(error) };
      }
    },
    stat(path: string): StatResult {
      try {
        return { ok: true, stats: statSync(at(path)) };
      } catch (error) {
        return { ok: false, error: errorCode(error) };
      }
    },
    lstat(path: string): StatResult {
      try {
        return { ok: true, stats: lstatSync(at(path)) };
      } catch (error) {
        return { ok: false, error: errorCode(error) };
      }
    },
    canRead(path: string): AccessResult {
      return checkOpen(at(path));
    },
    canWrite(path: string): AccessResult {
      return checkAccess(at(path), constants.W_OK);
    },
  });
}

/**
 * Parses `Key:\tvalue` lines (the format of `/proc/<pid>/status`) into a map.
 */
export function parseStatusFile(text: string): ReadonlyMap<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}
