/**
 * The filesystem half of the sandbox: open a validated relative path **one component at a time from a held directory
 * descriptor**, the way Go's `os.Root`, Linux `openat2(RESOLVE_BENEATH)` and Rust cap-std do.
 *
 * Node has no `openat`, so `openat(dirfd, name, flags)` is emulated by opening `/proc/self/fd/<dirfd>/<name>`: the
 * kernel follows the magic link to the held directory, then resolves `name` inside it under `flags` (O_NOFOLLOW
 * applies to `name`). `..` never reaches the kernel; symlinks are read and spliced in by this code, relative targets
 * only, at most 8 hops. Measured: 0 leaks under a symlink-swap race where realpath-then-open leaked 1,750 times in 3 s
 * (`shared/notes/path-guard.md` §5).
 *
 * @module sandbox/fd-walk
 */
import { constants, readlinkSync, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, readlink } from 'node:fs/promises';
import { KoaMtlsError } from '../errors.js';
import { notFound, type SandboxDenyReason, type SandboxPathError } from './sandbox-error.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } =
  constants;

/**
 * How a file may be opened inside a sandbox (the `fs.open` flag strings, minus the ones that follow links).
 *
 * @example
 * ```ts
 * const flags: SandboxOpenFlags = 'wx'; // exclusive create, for uploads
 * ```
 */
export type SandboxOpenFlags = 'r' | 'r+' | 'w' | 'wx' | 'a' | 'ax';

/**
 * Which symlinks a walk follows: `'in-root'` (relative targets that stay inside) or `'none'`.
 *
 * @example
 * ```ts
 * const policy: SymlinkPolicy = 'none'; // like openat2 RESOLVE_NO_SYMLINKS
 * ```
 */
export type SymlinkPolicy = 'in-root' | 'none';

/**
 * Kernel flags per mode. O_NOFOLLOW and O_NONBLOCK are added to every leaf open.
 *
 * @example
 * ```ts
 * OPEN_FLAGS.wx === (O_WRONLY | O_CREAT | O_EXCL); // true
 * ```
 */
export const OPEN_FLAGS: Readonly<Record<SandboxOpenFlags, number>> = Object.freeze({
  r: O_RDONLY,
  'r+': O_RDWR,
  w: O_WRONLY | O_CREAT | O_TRUNC,
  wx: O_WRONLY | O_CREAT | O_EXCL,
  a: O_WRONLY | O_CREAT | O_APPEND,
  ax: O_WRONLY | O_CREAT | O_EXCL | O_APPEND,
});

/**
 * Everything a walk needs about its root; built once by `createSandbox`.
 *
 * @example
 * ```ts
 * const root: WalkRoot = { fd, realRoot, dev, procFd: '/proc/self/fd', symlinks: 'in-root', noCrossDevice: false, singleLinkOnly: false };
 * ```
 */
export interface WalkRoot {
  /** The held root directory descriptor (-1 for the unsafe path mode, which holds none). */
  readonly fd: number;
  /** The root's real path, for the final defence-in-depth check. */
  readonly realRoot: string;
  /** `st_dev` of the root, for `noCrossDevice`. */
  readonly dev: number;
  /** The directory of magic fd links, normally `/proc/self/fd`. */
  readonly procFd: string;
  readonly symlinks: SymlinkPolicy;
  readonly noCrossDevice: boolean;
  readonly singleLinkOnly: boolean;
}

/**
 * What a successful walk returns.
 *
 * @example
 * ```ts
 * const { handle, resolved } = await walkOpen(root, ['k8s', 'tls.crt'], 'r', 0o600); // resolved: 'k8s/..2025_01_01/tls.crt'
 * ```
 */
export interface WalkResult {
  readonly handle: FileHandle;
  /** The in-root relative path actually opened (after symlinks). */
  readonly resolved: string;
  /** The real absolute path of the opened file (operator-only). */
  readonly realPath: string;
}

/**
 * Go `os.Root` limit: at most 8 symlink hops per open.
 *
 * @example
 * ```ts
 * if (links > MAX_SYMLINKS) throw notFound('SYMLINK_TOO_MANY');
 * ```
 */
export const MAX_SYMLINKS = 8;

/**
 * Go `os.Root` limit: at most 255 component steps per open, restarts included.
 *
 * @example
 * ```ts
 * if (++steps > MAX_STEPS) throw notFound('TOO_MANY_STEPS');
 * ```
 */
export const MAX_STEPS = 255;

const LINK_CODES = new Set(['ELOOP', 'ENOTDIR', 'EMLINK']);

/** Maps an errno from a component open to a uniform-404 reason; anything unexpected is a 500. */
function refusal(err: unknown): SandboxPathError | KoaMtlsError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const reason: SandboxDenyReason | undefined = {
    ENOENT: 'NOT_FOUND',
    ENOTDIR: 'NOT_DIRECTORY',
    EISDIR: 'NOT_REGULAR_FILE',
    ENXIO: 'NOT_REGULAR_FILE',
    ENODEV: 'NOT_REGULAR_FILE',
    ELOOP: 'SYMLINK_REFUSED',
    EACCES: 'ACCESS_DENIED',
    EPERM: 'ACCESS_DENIED',
    ENAMETOOLONG: 'NAME_TOO_LONG',
    EEXIST: 'EXISTS',
    EXDEV: 'CROSS_DEVICE',
  }[code ?? ''] as SandboxDenyReason | undefined;
  if (reason !== undefined) return notFound(reason, err);
  return new KoaMtlsError('ERR_SANDBOX_IO', 'Internal Server Error', { status: 500, cause: err });
}

/** `readlinkat` emulation: the target, or `null` when the entry is not a symlink (EINVAL) or vanished. */
async function readLinkAt(path: string): Promise<string | null> {
  try {
    return await readlink(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EINVAL' || code === 'ENOENT') return null;
    throw refusal(err);
  }
}

/**
 * Opens `segments` (already lexically valid) below `root`. Throws {@link SandboxPathError} (404) for every refusal.
 *
 * @example
 * ```ts
 * const { handle } = await walkOpen(root, ['certs', 'tls.crt'], 'r', 0o600);
 * ```
 */
export async function walkOpen(
  root: WalkRoot,
  segments: readonly string[],
  flags: SandboxOpenFlags,
  mode: number,
): Promise<WalkResult> {
  const parts = segments.slice();
  const creating = (OPEN_FLAGS[flags] & O_CREAT) !== 0;
  const exclusive = (OPEN_FLAGS[flags] & O_EXCL) !== 0;
  const held: FileHandle[] = [];
  let links = 0;
  let steps = 0;

  // Replaces parts[i] (a symlink) by its target's segments. A relative target is relative to the directory holding
  // the link, which is the current descriptor, so the walk goes on from there (Go os.Root does the same); a leading
  // `..` in the target is handled by the `..` rule, which restarts from the root.
  const splice = (i: number, target: string | null, whenNotLink: SandboxDenyReason): void => {
    if (target === null) throw notFound(whenNotLink);
    // 'none' is the RESOLVE_NO_SYMLINKS analogue.
    if (root.symlinks === 'none') throw notFound('SYMLINK_REFUSED');
    // Loops and long chains (Go os.Root and the kernel both stop at a small bound).
    if (++links > MAX_SYMLINKS) throw notFound('SYMLINK_TOO_MANY');
    // Absolute targets name the host's tree, including magic links such as /proc/self/root (openat2 RESOLVE_BENEATH).
    if (target.startsWith('/')) throw notFound('SYMLINK_ABSOLUTE');
    // `.` and empty segments stay: like the kernel, `file/.` and `file/` require `file` to be a directory.
    parts.splice(i, 1, ...target.split('/'));
  };

  const closeHeld = async (): Promise<void> => {
    const handles = held.splice(0);
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  };

  try {
    restart: for (;;) {
      await closeHeld();
      let dirFd = root.fd;
      for (let i = 0; i < parts.length; i++) {
        // Bounded work per request, whatever the links spell (Go: 255 steps).
        if (++steps > MAX_STEPS) throw notFound('TOO_MANY_STEPS');
        const name = parts[i] as string;
        if (name === '.' || name === '') {
          // Only a link target can bring these. The previous component was opened as a directory; at the end they
          // name that directory, which is not a regular file.
          if (i === parts.length - 1) throw notFound('NOT_REGULAR_FILE');
          parts.splice(i, 1);
          i--;
          continue;
        }
        if (name === '..') {
          // Only a link target can bring `..`; above the root it is an escape. Never openat(dir, '..'): the
          // directory may have moved, so drop the previous (real, non-link) component and walk again from the root.
          if (i === 0) throw notFound('SYMLINK_ESCAPE');
          parts.splice(i - 1, 2);
          continue restart;
        }
        const path = `${root.procFd}/${dirFd}/${name}`;
        if (i < parts.length - 1) {
          let dir: FileHandle;
          try {
            // O_NOFOLLOW|O_DIRECTORY: a symlink fails with ENOTDIR/ELOOP instead of being followed by the kernel.
            dir = await open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
          } catch (err) {
            if (!LINK_CODES.has((err as NodeJS.ErrnoException).code ?? '')) throw refusal(err);
            splice(i, await readLinkAt(path), 'NOT_DIRECTORY');
            i--;
            continue;
          }
          held.push(dir);
          if (root.noCrossDevice && (await dir.stat()).dev !== root.dev) throw notFound('CROSS_DEVICE');
          dirFd = dir.fd;
          continue;
        }
        const leaf = await openLeaf(path, flags, mode, creating, exclusive);
        if (typeof leaf === 'string') {
          // The leaf is a symlink: an exclusive create never follows one (it exists).
          if (exclusive) throw notFound('EXISTS');
          splice(i, leaf, 'NOT_FOUND');
          i--;
          continue;
        }
        if (leaf === null) continue restart;
        return await checkLeaf(root, leaf, parts.join('/'));
      }
      // A link spelled `.` or `dir/..` left nothing to open: the root itself is not a regular file.
      throw notFound('NOT_REGULAR_FILE');
    }
  } finally {
    await closeHeld();
  }
}

/**
 * Opens the last component. Returns the handle, the symlink target when the leaf is a link, or `null` when the
 * entry changed under us (retry from the root).
 */
async function openLeaf(
  path: string,
  flags: SandboxOpenFlags,
  mode: number,
  creating: boolean,
  exclusive: boolean,
): Promise<FileHandle | string | null> {
  let before: Stats | null = null;
  try {
    before = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !creating) throw refusal(err);
  }
  if (before?.isSymbolicLink()) return (await readLinkAt(path)) ?? null;
  if (before !== null && exclusive) throw notFound('EXISTS');
  // FIFOs, sockets and devices are refused before any open: a FIFO open blocks a libuv thread forever (§0.6).
  if (before !== null && !before.isFile()) throw notFound('NOT_REGULAR_FILE');
  try {
    // O_NOFOLLOW: a link swapped in after lstat fails with ELOOP; O_NONBLOCK: a FIFO swapped in cannot block.
    return await open(path, OPEN_FLAGS[flags] | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The entry became a symlink (or appeared/vanished) between lstat and open: walk again, bounded by MAX_STEPS.
    if (code === 'ELOOP' || (code === 'EEXIST' && !exclusive) || (code === 'ENOENT' && before !== null)) {
      return null;
    }
    throw refusal(err);
  }
}

/** Post-open checks on the descriptor itself (no path is trusted): regular file, device, links, real path. */
async function checkLeaf(root: WalkRoot, handle: FileHandle, resolved: string): Promise<WalkResult> {
  try {
    const st = await handle.stat();
    // Whatever lstat saw, the opened inode must be a regular file.
    if (!st.isFile()) throw notFound('NOT_REGULAR_FILE');
    // RESOLVE_NO_XDEV analogue: a mount inside the root (opt-in; overlayfs can differ in st_dev).
    if (root.noCrossDevice && st.dev !== root.dev) throw notFound('CROSS_DEVICE');
    // A hard link to an outside inode is invisible to any path check; nlink > 1 is the only hint.
    if (root.singleLinkOnly && st.nlink > 1) throw notFound('MULTIPLE_LINKS');
    // Synchronous on purpose: procfs computes the name in the kernel without touching a disk, and a threadpool round
    // trip would cost more than the call itself.
    const realPath = readlinkSync(`${root.procFd}/${handle.fd}`);
    const prefix = root.realRoot === '/' ? '/' : `${root.realRoot}/`;
    // Defence in depth (§7.3 d): the kernel's own name for the opened file must lie under the real root.
    if (!realPath.startsWith(prefix)) throw notFound('OUTSIDE_ROOT');
    return { handle, resolved, realPath };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err instanceof KoaMtlsError ? err : refusal(err);
  }
}
