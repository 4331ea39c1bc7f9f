/**
 * The filesystem half of the sandbox: open a validated relative path **one component at a time from a held directory
 * descriptor**, the way Go's `os.Root`, Linux `openat2(RESOLVE_BENEATH)` and Rust cap-std do.
 *
 * Node has no `openat`, so `openat(dirfd, name, flags)` is emulated by opening `/proc/self/fd/<dirfd>/<name>`: the
 * kernel follows the magic link to the held directory, then resolves `name` inside it under `flags` (O_NOFOLLOW
 * applies to `name`). `..` never reaches the kernel; symlinks are read and spliced in by this code, relative targets
 * only, at most 8 hops. Under a symlink-swap race this returned an outside file 0 times where realpath-then-open
 * leaked it about 1,000 times a second (the race test).
 *
 * Three more properties (docs/sandbox.md):
 * - a refused open changes nothing: existing files are opened without `O_CREAT`/`O_TRUNC` and truncated only after
 *   every check passed; a new file is created with `O_EXCL` in a directory verified first, and unlinked again if a
 *   later check refuses it;
 * - a walk holds at most two descriptors besides the root (the current directory and the next);
 * - with `noCrossDevice`, every component's mount id must be the root's (`RESOLVE_NO_XDEV`).
 *
 * @module sandbox/fd-walk
 */
import { constants, readlinkSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { KoaMtlsError } from '../errors.js';
import { errnoCode } from '../fs-errors/errno-reasons.js';
import { mountIdOf } from './mounts.js';
import { notFound, refusal, type SandboxDenyReason } from './sandbox-error.js';
import type { LeafOpener, OpenedFile, WalkIo } from './walk-io.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } =
  constants;

/**
 * How a file may be opened inside a sandbox (the `fs.open` flag strings, minus the ones that follow links).
 *
 * @example
 * ```ts
 * import type { SandboxOpenFlags } from 'koa-mtls';
 *
 * const flags: SandboxOpenFlags = 'wx'; // exclusive create, for uploads
 * ```
 */
export type SandboxOpenFlags = 'r' | 'r+' | 'w' | 'wx' | 'a' | 'ax';

/**
 * Which symlinks a walk follows: `'in-root'` (relative targets that stay inside) or `'none'`.
 *
 * @example
 * ```ts
 * import type { SymlinkPolicy } from 'koa-mtls';
 *
 * const symlinks: SymlinkPolicy = 'none'; // like openat2 RESOLVE_NO_SYMLINKS
 * ```
 */
export type SymlinkPolicy = 'in-root' | 'none';

/** Kernel flags per mode, as `fs.open` means them. The walk never passes them as they are (see {@link walkOpen}). */
export const OPEN_FLAGS: Readonly<Record<SandboxOpenFlags, number>> = Object.freeze({
  r: O_RDONLY,
  'r+': O_RDWR,
  w: O_WRONLY | O_CREAT | O_TRUNC,
  wx: O_WRONLY | O_CREAT | O_EXCL,
  a: O_WRONLY | O_CREAT | O_APPEND,
  ax: O_WRONLY | O_CREAT | O_EXCL | O_APPEND,
});

/** Everything a walk needs about its root; built once by `createSandbox`. */
export interface WalkRoot {
  /** The held root directory descriptor (-1 for the unsafe path mode, which holds none). */
  readonly fd: number;
  /** The root's real path, for the defence-in-depth checks. */
  readonly realRoot: string;
  /** `st_dev` of the root (the unsafe path mode's `noCrossDevice`, which has no descriptors to ask). */
  readonly dev: number;
  /** The root's mount id (`-1` when `noCrossDevice` is off and it was not read). */
  readonly mountId: number;
  /** The directory of magic fd links, normally `/proc/self/fd`. */
  readonly procFd: string;
  /** The directory of per-descriptor info, normally `/proc/self/fdinfo`. */
  readonly fdInfo: string;
  readonly symlinks: SymlinkPolicy;
  readonly noCrossDevice: boolean;
  readonly singleLinkOnly: boolean;
  readonly io: WalkIo;
  /**
   * The allow/deny lists applied to the resolved in-root path (after links), before anything is opened: a link must
   * not smuggle a file in under an allowed name, and a refused target must not be truncated or created first.
   */
  readonly refuseResolved: (resolved: string) => SandboxDenyReason | undefined;
}

/** What a successful walk returns: the opened file in the form the caller's opener makes. */
export interface WalkResult<F extends OpenedFile = FileHandle> {
  readonly handle: F;
  /** The in-root relative path actually opened (after symlinks). */
  readonly resolved: string;
  /** The real absolute path of the opened file (operator-only). */
  readonly realPath: string;
  /** `fstat` of the opened file, taken before any truncation. */
  readonly stats: Stats;
}

/** Go `os.Root` limit: at most 8 symlink hops per open. */
export const MAX_SYMLINKS = 8;

/** Go `os.Root` limit: at most 255 component steps per open, restarts included. */
export const MAX_STEPS = 255;

const LINK_CODES = new Set(['ELOOP', 'ENOTDIR', 'EMLINK']);
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** The kernel's name for a descriptor must lie under the real root (renamed roots, directories moved out). */
function assertUnderRoot(root: WalkRoot, fd: number): string {
  const realPath = readlinkSync(`${root.procFd}/${fd}`);
  if (realPath === root.realRoot) return realPath;
  const prefix = root.realRoot === '/' ? '/' : `${root.realRoot}/`;
  if (!realPath.startsWith(prefix)) throw notFound('OUTSIDE_ROOT');
  return realPath;
}

/** openat2 RESOLVE_NO_XDEV: every component on the root's mount, bind mounts of the same filesystem included. */
function assertSameMount(root: WalkRoot, fd: number): void {
  if (root.noCrossDevice && mountIdOf(root.fdInfo, fd) !== root.mountId) throw notFound('CROSS_DEVICE');
}

/**
 * Opens `segments` (already lexically valid) below `root`, the leaf with `openLeafFile` (`root.io.openFile` or
 * `root.io.openDescriptor`). Throws a 404 `SandboxPathError` for every refusal, a 503 `ERR_SANDBOX_BUSY` when
 * descriptors run out, a 500 `ERR_SANDBOX_IO` otherwise.
 */
export async function walkOpen<F extends OpenedFile>(
  root: WalkRoot,
  segments: readonly string[],
  flags: SandboxOpenFlags,
  mode: number,
  openLeafFile: LeafOpener<F>,
): Promise<WalkResult<F>> {
  const { io } = root;
  const parts = segments.slice();
  const exclusive = (OPEN_FLAGS[flags] & O_EXCL) !== 0;
  // The current directory; owned (to be closed) unless it is the root. Parents are closed as the walk descends, so a
  // walk holds at most this one and the next, whatever the depth.
  let dirFd = root.fd;
  let links = 0;
  let steps = 0;

  const release = async (): Promise<void> => {
    const fd = dirFd;
    dirFd = root.fd;
    if (fd !== root.fd) await io.closeDir(fd);
  };

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

  try {
    restart: for (;;) {
      await release();
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
          let next: number;
          try {
            // O_NOFOLLOW|O_DIRECTORY: a symlink fails with ENOTDIR/ELOOP instead of being followed by the kernel.
            next = await io.openDir(path, DIR_FLAGS);
          } catch (err) {
            if (!LINK_CODES.has(errnoCode(err) ?? '')) throw refusal(err);
            splice(i, await readLinkAt(io, path), 'NOT_DIRECTORY');
            i--;
            continue;
          }
          await release();
          dirFd = next;
          assertSameMount(root, dirFd);
          continue;
        }
        const leaf = await openLeaf(root, dirFd, path, parts.join('/'), flags, mode, openLeafFile);
        if (typeof leaf === 'string') {
          // The leaf is a symlink: an exclusive create never follows one (it exists).
          if (exclusive) throw notFound('EXISTS');
          splice(i, leaf, 'NOT_FOUND');
          i--;
          continue;
        }
        if (leaf === null) continue restart;
        return { handle: leaf.handle, resolved: parts.join('/'), realPath: leaf.realPath, stats: leaf.stats };
      }
      // A link spelled `.` or `dir/..` left nothing to open: the root itself is not a regular file.
      throw notFound('NOT_REGULAR_FILE');
    }
  } catch (err) {
    throw err instanceof KoaMtlsError ? err : refusal(err);
  } finally {
    await release().catch(() => undefined);
  }
}

/** `readlinkat` emulation: the target, or `null` when the entry is not a symlink (EINVAL) or vanished. */
async function readLinkAt(io: WalkIo, path: string): Promise<string | null> {
  try {
    return await io.readlink(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EINVAL' || code === 'ENOENT') return null;
    throw refusal(err);
  }
}

/**
 * Opens the last component without changing anything, checks it, and only then applies what the flags ask for.
 * Returns the opened file, the symlink target when the leaf is a link, or `null` when the entry changed under us
 * (walk again from the root, bounded by MAX_STEPS).
 */
async function openLeaf<F extends OpenedFile>(
  root: WalkRoot,
  dirFd: number,
  path: string,
  resolved: string,
  flags: SandboxOpenFlags,
  mode: number,
  openLeafFile: LeafOpener<F>,
): Promise<{ readonly handle: F; readonly realPath: string; readonly stats: Stats } | string | null> {
  const wanted = OPEN_FLAGS[flags];
  const creating = (wanted & O_CREAT) !== 0;
  const exclusive = (wanted & O_EXCL) !== 0;
  // The open itself never truncates or creates: O_TRUNC becomes an ftruncate after the checks, O_CREAT an O_EXCL
  // create in a verified directory. O_NOFOLLOW: a link swapped in fails with ELOOP; O_NONBLOCK: a FIFO cannot block.
  const base = (wanted & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_NOFOLLOW | O_NONBLOCK;
  const before: Stats | undefined = await root.io.lstat(path);
  if (before === undefined && !creating) throw notFound('NOT_FOUND');
  if (before?.isSymbolicLink()) return (await readLinkAt(root.io, path)) ?? null;
  const globRefusal = root.refuseResolved(resolved);
  if (globRefusal !== undefined) throw notFound(globRefusal);
  if (before !== undefined && exclusive) throw notFound('EXISTS');
  // FIFOs, sockets and devices are refused before any open: a FIFO open blocks a libuv thread forever.
  if (before !== undefined && !before.isFile()) throw notFound('NOT_REGULAR_FILE');

  let handle: F;
  const created = before === undefined;
  try {
    if (created) {
      // Create only where a file may be: the directory's own name under the root and on the root's mount.
      assertUnderRoot(root, dirFd);
      assertSameMount(root, dirFd);
      handle = await openLeafFile(path, base | O_CREAT | O_EXCL, mode);
    } else {
      handle = await openLeafFile(path, base, mode);
    }
  } catch (err) {
    const code = errnoCode(err);
    // The entry became a symlink, appeared or vanished between lstat and open: walk again.
    if (code === 'ELOOP' || (code === 'EEXIST' && !exclusive) || (code === 'ENOENT' && !created)) return null;
    throw err instanceof KoaMtlsError ? err : refusal(err);
  }
  try {
    const st = await root.io.fstat(handle.fd);
    // Whatever lstat saw, the opened inode must be a regular file.
    if (!st.isFile()) throw notFound('NOT_REGULAR_FILE');
    assertSameMount(root, handle.fd);
    // A hard link to an outside inode is invisible to any path check; nlink > 1 is the only hint.
    if (root.singleLinkOnly && st.nlink > 1) throw notFound('MULTIPLE_LINKS');
    // Defence in depth: the kernel's own name for the opened file must lie under the real root.
    const realPath = assertUnderRoot(root, handle.fd);
    // Every check passed: now, and only now, the file may change.
    if ((wanted & O_TRUNC) !== 0 && !created) await root.io.truncate(handle.fd);
    return { handle, realPath, stats: st };
  } catch (err) {
    if (created) await removeCreated(root.io, path, handle.fd);
    await handle.close().catch(() => undefined);
    throw err instanceof KoaMtlsError ? err : refusal(err);
  }
}

/** Unlinks the file this call created, if the name still points at it (never someone else's file). */
async function removeCreated(io: WalkIo, path: string, fd: number): Promise<void> {
  try {
    const [mine, named] = [await io.fstat(fd), await io.lstat(path)];
    if (named !== undefined && named.ino === mine.ino && named.dev === mine.dev) await io.unlink(path);
  } catch {
    // Best effort: the refusal that brought us here is what the caller gets.
  }
}
