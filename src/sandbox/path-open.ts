/**
 * The **unsafe** fallback used only with `createSandbox(root, { unsafePathMode: true })` where the fd walk is
 * unavailable (macOS, Windows, no `/proc`): the lexical rules, then `realpath()` and a prefix check, then an open by
 * path. It stops `..`, absolute paths, special files and links that point out *at the time of the check*, but a link
 * swapped in between the check and the open escapes: this is the realpath-then-open pattern that leaked an outside
 * file ~1,000 times a second in the race test. For development machines, never for production.
 *
 * @module sandbox/path-open
 */
import { constants, type Stats } from 'node:fs';
import { lstat, realpath, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { OPEN_FLAGS, type SandboxOpenFlags, type WalkResult, type WalkRoot } from './fd-walk.js';
import { notFound, refusal } from './sandbox-error.js';
import type { LeafOpener, OpenedFile } from './walk-io.js';

// Windows has neither flag; 0 leaves the open as it is (and the checks above it are all that remain).
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

const lstatOrNull = (path: string): Promise<Stats | null> =>
  lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw refusal(err);
  });

/**
 * Opens `segments` below `realRoot` by path. Racy by design (see the module note); refusals are 404s as in the walk.
 */
export async function pathOpen<F extends OpenedFile>(
  root: WalkRoot,
  segments: readonly string[],
  flags: SandboxOpenFlags,
  mode: number,
  openLeafFile: LeafOpener<F>,
): Promise<WalkResult<F>> {
  const { realRoot, symlinks } = root;
  const prefix = realRoot.endsWith(sep) ? realRoot : `${realRoot}${sep}`;
  const full = join(realRoot, ...segments);
  const creating = (OPEN_FLAGS[flags] & constants.O_CREAT) !== 0;
  const exclusive = (OPEN_FLAGS[flags] & constants.O_EXCL) !== 0;
  if (symlinks === 'none') {
    // 'none': no component may be a link (checked by path, so only at the time of the check).
    for (let i = 1; i <= segments.length; i++) {
      const st = await lstatOrNull(join(realRoot, ...segments.slice(0, i)));
      if (st?.isSymbolicLink()) throw notFound('SYMLINK_REFUSED');
      if (st === null) break;
    }
  }
  const existing = await lstatOrNull(full);
  if (existing !== null && exclusive) throw notFound('EXISTS');
  let real: string;
  try {
    real = existing === null ? join(await realpath(dirname(full)), basename(full)) : await realpath(full);
  } catch (err) {
    throw refusal(err);
  }
  if (existing === null && !creating) throw notFound('NOT_FOUND');
  // The prefix check: with a separator, so `/srv/files2` is not inside `/srv/files` (CVE-2014-6394).
  if (!real.startsWith(prefix)) throw notFound('SYMLINK_ESCAPE');
  const resolved = relative(realRoot, real).split(sep).join('/');
  const globRefusal = root.refuseResolved(resolved);
  if (globRefusal !== undefined) throw notFound(globRefusal);
  const target = existing === null ? null : await lstatOrNull(real);
  // Special files are refused before any open: a FIFO would block a libuv thread.
  if (target !== null && !target.isFile()) throw notFound('NOT_REGULAR_FILE');
  // As in the walk, a refused open changes nothing: no O_TRUNC or plain O_CREAT at open time.
  const base =
    (OPEN_FLAGS[flags] & ~(constants.O_CREAT | constants.O_EXCL | constants.O_TRUNC)) | O_NOFOLLOW | O_NONBLOCK;
  const created = existing === null;
  let handle: F;
  try {
    handle = await openLeafFile(real, created ? base | constants.O_CREAT | constants.O_EXCL : base, mode);
  } catch (err) {
    throw refusal(err);
  }
  let st: Stats;
  try {
    st = await root.io.fstat(handle.fd);
    if (!st.isFile()) throw notFound('NOT_REGULAR_FILE');
    if (root.noCrossDevice && st.dev !== root.dev) throw notFound('CROSS_DEVICE');
    if (root.singleLinkOnly && st.nlink > 1) throw notFound('MULTIPLE_LINKS');
    if ((OPEN_FLAGS[flags] & constants.O_TRUNC) !== 0 && !created) await root.io.truncate(handle.fd);
  } catch (err) {
    if (created) await unlink(real).catch(() => undefined);
    await handle.close().catch(() => undefined);
    throw err;
  }
  return { handle, resolved, realPath: real, stats: st };
}
