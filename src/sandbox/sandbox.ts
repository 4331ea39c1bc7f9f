/**
 * `createSandbox(root)`: a directory held open, inside which request-derived relative paths are opened component by
 * component from the held descriptor. Linux only; creation fails closed anywhere the walk cannot be made safe.
 *
 * @module sandbox/sandbox
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, readlink, realpath, stat, statfs } from 'node:fs/promises';
import { isAbsolute, normalize } from 'node:path';
import type { AuditHook } from '../audit/event.js';
import { emitOperationalAudit } from '../audit/hook.js';
import { InvalidOptionError, KoaMtlsError } from '../errors.js';
import { hostPathExposure } from '../host-paths/host-paths.js';
import {
  assertOptionsObject,
  optionalBoolean,
  optionalChoice,
  optionalFunction,
  optionalInteger,
  optionalString,
} from '../options/validate.js';
import type { MountEntry } from '../posture/mountinfo.js';
import { type SandboxOpenFlags, type SymlinkPolicy, type WalkResult, type WalkRoot, walkOpen } from './fd-walk.js';
import { type CompiledGlobs, compileGlobs, isAllowed, isDenied } from './globs.js';
import {
  type CompiledPathOptions,
  checkPath,
  compilePathOptions,
  PATH_OPTION_KEYS,
  type SandboxPathAccepted,
  type SandboxPathResult,
  type SandboxPathRules,
} from './lexical.js';
import {
  allLocal,
  describeMount,
  fdInfoDirOf,
  hostMountReason,
  isLocalMagic,
  mountById,
  mountIdOf,
  mountsBelow,
  readMounts,
} from './mounts.js';
import { pathOpen } from './path-open.js';
import { notFound, SandboxPathError } from './sandbox-error.js';
import {
  type FileDescriptor,
  type LeafOpener,
  type OpenedFile,
  type WalkIo,
  type WalkIoKind,
  walkIo,
} from './walk-io.js';

/**
 * How a sandbox opens files: `'fd-walk'` (component by component from held descriptors; Linux) or `'unsafe-path'`
 * (realpath, prefix check, open by path; racy, only with `unsafePathMode: true` where the walk is unavailable).
 *
 * @example
 * ```ts
 * import { createSandbox } from 'koa-mtls';
 *
 * const sandbox = await createSandbox('/srv/files');
 * if (sandbox.mode !== 'fd-walk') log.warn('sandbox is in unsafe path mode');
 * ```
 */
export type SandboxMode = 'fd-walk' | 'unsafe-path';

/**
 * What to do when a mount point lies below the root (a bind mount of a host path would be reachable).
 *
 * @example
 * ```ts
 * import { createSandbox, type MountPolicy } from 'koa-mtls';
 *
 * const mounts: MountPolicy = 'refuse';
 * const sandbox = await createSandbox('/srv/files', { mounts });
 * ```
 */
export type MountPolicy = 'warn' | 'refuse' | 'ignore';

/**
 * Options of {@link createSandbox}: the lexical rules ({@link SandboxPathRules}) plus the filesystem policy.
 *
 * @example
 * ```ts
 * import { createSandbox, type SandboxOptions } from 'koa-mtls';
 *
 * const options: SandboxOptions = { symlinks: 'in-root', allow: ['*.pem', 'reports/**\/*.pdf'], mounts: 'refuse' };
 * const sandbox = await createSandbox('/srv/files', options);
 * ```
 */
export interface SandboxOptions extends SandboxPathRules {
  /** `'in-root'` (default): follow relative links that stay inside, at most 8 hops. `'none'`: refuse every link. */
  readonly symlinks?: SymlinkPolicy;
  /** Globs a requested path must match (recommended). Default: none, every valid path may be tried. */
  readonly allow?: readonly string[];
  /** Globs neither the requested nor the resolved (after symlinks) path may match. Default: none. */
  readonly deny?: readonly string[];
  /**
   * Refuse every directory and file on another mount than the root's, bind mounts of the same filesystem and mounts
   * made after startup included (what `openat2` `RESOLVE_NO_XDEV` means; judged by mount id). Default `false`.
   */
  readonly noCrossDevice?: boolean;
  /** Refuse files with more than one hard link (a hard link to an outside inode is otherwise invisible). Default `false`. */
  readonly singleLinkOnly?: boolean;
  /**
   * The mount table at creation: `'warn'` (default: audit event for mounts below the root), `'refuse'` (throw for a
   * mount below the root, or an unreadable table) or `'ignore'` (not read). Unless `'ignore'`, a root on a mount of a
   * host path (`-v /:/host`) is refused like a host root.
   */
  readonly mounts?: MountPolicy;
  /** Permission bits of files created through `open(…, { flags: 'w' | 'wx' | 'a' | 'ax' })`. Default `0o600`. */
  readonly fileMode?: number;
  /** Allow a root that exposes the host (`/`, `/etc`, `/run`, `/var/run`, `/root`, and `/proc`, `/sys`, `/dev`, `/boot` at any depth). Default `false`. */
  readonly unsafeAllowHostRoot?: boolean;
  /**
   * Where the fd walk is unavailable (not Linux, no usable `/proc/self/fd`), open files by path instead of failing:
   * realpath, a prefix check, then an open by path. **Racy**: a link swapped in between the check and the open
   * escapes. For development machines (macOS, Windows), never for production. Default `false` (fail closed).
   */
  readonly unsafePathMode?: boolean;
  /** Receives startup warnings (`MOUNT_UNDER_ROOT`, `MOUNTS_UNKNOWN`, `UNSAFE_PATH_MODE`). */
  readonly onAudit?: AuditHook;
  /** Where the magic fd links are. Default `/proc/self/fd`; probed at creation, so a wrong value fails closed. */
  readonly procFdDir?: string;
  /** The mount table read for `mounts`. Default `/proc/self/mountinfo`. */
  readonly mountInfoFile?: string;
  /**
   * How the walk makes its system calls: `'sync'` on the event loop (microseconds on a local filesystem's cached
   * entries), `'async'` on libuv's threadpool (for network and FUSE filesystems, where a call can block), or `'auto'`
   * (default): `'sync'` when the root's filesystem and every mount below it are local, `'async'` otherwise.
   */
  readonly walk?: 'auto' | WalkIoKind;
}

/**
 * Options of {@link Sandbox.open}.
 *
 * @example
 * ```ts
 * import { createSandbox, type SandboxOpenOptions } from 'koa-mtls';
 *
 * const sandbox = await createSandbox('/srv/uploads');
 * const options: SandboxOpenOptions = { flags: 'wx' };
 * const handle = await sandbox.open('incoming/a.bin', options);
 * ```
 */
export interface SandboxOpenOptions {
  /** `'r'` (default), `'r+'`, `'w'`, `'wx'` (exclusive create: uploads), `'a'` or `'ax'`. */
  readonly flags?: SandboxOpenFlags;
}

/**
 * A file opened by {@link Sandbox.openDetailed}: the handle with what the walk learnt on the way.
 *
 * @example
 * ```ts
 * import { createSandbox, type SandboxOpenedFile } from 'koa-mtls';
 *
 * const sandbox = await createSandbox('/srv/files');
 * const opened: SandboxOpenedFile = await sandbox.openDetailed('latest.pdf');
 * console.log(opened.resolved, opened.stats.size); // e.g. 'releases/2026-12.pdf' 48213
 * await opened.handle.close();
 * ```
 */
export interface SandboxOpenedFile {
  /** The open file; the caller closes it. */
  readonly handle: FileHandle;
  /** The relative path inside the root that was actually opened, after following allowed symlinks. */
  readonly resolved: string;
  /** The real absolute path of the opened file (operator-only: never put it in a response). */
  readonly realPath: string;
  /** `fstat` of the opened descriptor, taken before any truncation a write flag asks for. */
  readonly stats: Stats;
}

/**
 * A root directory held open. Obtain one with {@link createSandbox}.
 *
 * @example
 * ```ts
 * import type { Context } from 'koa';
 * import { createSandbox } from 'koa-mtls';
 *
 * const sandbox = await createSandbox('/srv/files');
 * const report = async (ctx: Context) => {
 *   const handle = await sandbox.open('reports/2024.pdf');
 *   try { ctx.body = handle.createReadStream(); } catch (err) { await handle.close(); throw err; }
 * };
 * ```
 */
export interface Sandbox {
  /** The root's real path (operator-only: never put it in a response). */
  readonly root: string;
  /** The symlink policy. */
  readonly symlinks: SymlinkPolicy;
  /** `'fd-walk'`, or `'unsafe-path'` when `unsafePathMode` had to be used. */
  readonly mode: SandboxMode;
  /** Mount points found below the root at creation, relative to it. */
  readonly mountsUnderRoot: readonly string[];
  /** How the walk makes its system calls (see the `walk` option). */
  readonly walk: WalkIoKind;
  /** Whether {@link Sandbox.close} was called. */
  readonly closed: boolean;
  /**
   * The `allow` globs as given to {@link createSandbox}, or `null` when there is no allow-list (every valid path may
   * be tried).
   *
   * @example
   * ```ts
   * import { createSandbox } from 'koa-mtls';
   *
   * const sandbox = await createSandbox('/srv/files', { allow: ['**\/*.pdf'] });
   * console.log(sandbox.allow); // ['**\/*.pdf']
   * ```
   */
  readonly allow: readonly string[] | null;
  /**
   * The `deny` globs as given to {@link createSandbox} (empty when none).
   *
   * @example
   * ```ts
   * import { createSandbox } from 'koa-mtls';
   *
   * const sandbox = await createSandbox('/srv/files', { deny: ['private/**'] });
   * console.log(sandbox.deny); // ['private/**']
   * ```
   */
  readonly deny: readonly string[];
  /** Applies this sandbox's lexical rules (no I/O). */
  validate(input: unknown): SandboxPathResult;
  /**
   * Everything that can be decided about a requested path without touching the filesystem: the lexical rules, then
   * the `allow`/`deny` globs on the validated path. Returns the accepted path; throws the `SandboxPathError`
   * {@link Sandbox.open} would: 400 `ERR_SANDBOX_INVALID_PATH` for a lexical rule, 404 `ERR_SANDBOX_NOT_FOUND` for a
   * glob. A path it accepts can still be refused by `open` (missing, a refused symlink, not a regular file).
   *
   * @example
   * ```ts
   * import { createSandbox, SandboxPathError } from 'koa-mtls';
   *
   * const sandbox = await createSandbox('/srv/files', { allow: ['**\/*.pdf'] });
   * sandbox.check('reports/2024.pdf').segments; // ['reports', '2024.pdf']
   * try { sandbox.check('../etc/passwd'); } catch (err) { console.log((err as SandboxPathError).status); } // 400
   * ```
   */
  check(input: unknown): SandboxPathAccepted;
  /**
   * Opens a regular file by a relative path, component by component from the held root descriptor. Throws a
   * `SandboxPathError`: 400 `ERR_SANDBOX_INVALID_PATH` when the input breaks a lexical rule, 404
   * `ERR_SANDBOX_NOT_FOUND` for everything that depends on the filesystem. The caller closes the handle.
   */
  open(relativePath: string, options?: SandboxOpenOptions): Promise<FileHandle>;
  /**
   * {@link Sandbox.open}, also returning the in-root path actually opened, the real path and the descriptor's `fstat`
   * (what a response needs for `Content-Length` and `Last-Modified` without a second, racy `stat` by path). Same
   * checks and errors as `open`; the caller closes `handle`.
   *
   * @example
   * ```ts
   * import type { Context } from 'koa';
   * import { createSandbox } from 'koa-mtls';
   *
   * const sandbox = await createSandbox('/srv/files');
   * const download = async (ctx: Context) => {
   *   const { handle, stats } = await sandbox.openDetailed('reports/2024.pdf');
   *   ctx.length = stats.size;
   *   ctx.lastModified = stats.mtime;
   *   ctx.body = handle.createReadStream();
   * };
   * ```
   */
  openDetailed(relativePath: string, options?: SandboxOpenOptions): Promise<SandboxOpenedFile>;
  /**
   * The real absolute path of the regular file `relativePath` names, checked like {@link Sandbox.open}. Weaker than
   * `open`: the path can be swapped for a symlink right after it is returned, so never open the result by path.
   */
  resolve(relativePath: string): Promise<string>;
  /** Closes the root descriptor once pending opens have finished. Later calls throw `ERR_SANDBOX_CLOSED`. */
  close(): Promise<void>;
}

const OPTION_KEYS = [
  'symlinks',
  'allow',
  'deny',
  'noCrossDevice',
  'singleLinkOnly',
  'mounts',
  'fileMode',
  'unsafeAllowHostRoot',
  'unsafePathMode',
  'onAudit',
  'procFdDir',
  'mountInfoFile',
  'walk',
] as const;

const FLAG_CHOICES: readonly SandboxOpenFlags[] = ['r', 'r+', 'w', 'wx', 'a', 'ax'];

// Roots that would hand the host to a client: the one rule auditContainer reports by, too.
const isHostRoot = (p: string): boolean => hostPathExposure(p) !== undefined;

const configError = (message: string, cause?: unknown): KoaMtlsError =>
  new KoaMtlsError('ERR_SANDBOX_CONFIG', message, cause === undefined ? {} : { cause });
const unsupported = (message: string, cause?: unknown): KoaMtlsError =>
  new KoaMtlsError('ERR_SANDBOX_UNSUPPORTED', message, cause === undefined ? {} : { cause });

/** Settings compiled once by {@link createSandbox}. */
interface CompiledSandbox {
  readonly rules: CompiledPathOptions;
  readonly globs: CompiledGlobs;
  readonly symlinks: SymlinkPolicy;
  readonly noCrossDevice: boolean;
  readonly singleLinkOnly: boolean;
  readonly fileMode: number;
  readonly procFd: string;
}

/** What `createSandbox` learnt about the held root. */
interface RootFacts {
  readonly handle: FileHandle | null;
  readonly realRoot: string;
  readonly dev: number;
  readonly mountId: number;
  readonly mounts: readonly string[];
  readonly io: WalkIo;
}

/**
 * The implementation behind {@link Sandbox}; `instanceof` tells middleware a sandbox is genuine. Not exported from
 * the package: create one with {@link createSandbox}.
 */
export class HeldSandbox implements Sandbox {
  readonly root: string;
  readonly symlinks: SymlinkPolicy;
  readonly mountsUnderRoot: readonly string[];
  readonly mode: SandboxMode;
  readonly walk: WalkIoKind;
  readonly allow: readonly string[] | null;
  readonly deny: readonly string[];
  readonly #handle: FileHandle | null;
  readonly #root: WalkRoot;
  readonly #settings: CompiledSandbox;
  #closing: Promise<void> | null = null;
  #pending = 0;
  #drained: (() => void) | null = null;

  constructor(facts: RootFacts, settings: CompiledSandbox) {
    this.#handle = facts.handle;
    this.mode = facts.handle === null ? 'unsafe-path' : 'fd-walk';
    this.walk = facts.io.kind;
    this.#settings = settings;
    this.root = facts.realRoot;
    this.symlinks = settings.symlinks;
    this.mountsUnderRoot = Object.freeze([...facts.mounts]);
    const { allow, deny } = settings.globs;
    this.allow = allow === null ? null : Object.freeze(allow.map((glob) => glob.pattern));
    this.deny = Object.freeze(deny.map((glob) => glob.pattern));
    this.#root = Object.freeze({
      fd: facts.handle?.fd ?? -1,
      realRoot: facts.realRoot,
      dev: facts.dev,
      mountId: facts.mountId,
      procFd: settings.procFd,
      fdInfo: fdInfoDirOf(settings.procFd),
      symlinks: settings.symlinks,
      noCrossDevice: settings.noCrossDevice,
      singleLinkOnly: settings.singleLinkOnly,
      io: facts.io,
      refuseResolved: (resolved: string) =>
        !isAllowed(settings.globs, resolved)
          ? 'GLOB_NOT_ALLOWED'
          : isDenied(settings.globs, resolved)
            ? 'GLOB_DENIED'
            : undefined,
    });
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  validate(input: unknown): SandboxPathResult {
    return checkPath(input, this.#settings.rules);
  }

  check(input: unknown): SandboxPathAccepted {
    const result = checkPath(input, this.#settings.rules);
    if (!result.ok) throw new SandboxPathError(400, result.reason);
    // Globs run after the lexical rules, on the canonical relative path only (`**` also matches `/etc/passwd`).
    if (!isAllowed(this.#settings.globs, result.path)) throw notFound('GLOB_NOT_ALLOWED');
    if (isDenied(this.#settings.globs, result.path)) throw notFound('GLOB_DENIED');
    return result;
  }

  async openDetailed(relativePath: unknown, options?: SandboxOpenOptions): Promise<SandboxOpenedFile> {
    if (options !== undefined) assertOptionsObject(options, 'options', ['flags']);
    const flags: SandboxOpenFlags = (options?.flags as SandboxOpenFlags | undefined) ?? 'r';
    return this.#open(relativePath, flags, this.#root.io.openFile);
  }

  /**
   * Opens for reading as a bare descriptor, with the walk's details: what `send()` serves a file from (on a
   * synchronous walk, open and close need no threadpool round trip). Not on the public interface: a bare descriptor
   * closed twice could close whatever file reused its number.
   */
  openDescriptor(relativePath: unknown): Promise<WalkResult<FileDescriptor>> {
    return this.#open(relativePath, 'r', this.#root.io.openDescriptor);
  }

  async #open<F extends OpenedFile>(
    relativePath: unknown,
    flags: SandboxOpenFlags,
    openLeafFile: LeafOpener<F>,
  ): Promise<WalkResult<F>> {
    if (!FLAG_CHOICES.includes(flags)) throw new InvalidOptionError('options.flags', `must be one of ${FLAG_CHOICES}`);
    const { segments } = this.check(relativePath);
    if (this.#closing !== null) throw new KoaMtlsError('ERR_SANDBOX_CLOSED', 'Internal Server Error', { status: 500 });
    // Count in-flight walks: closing the root fd mid-walk could let the number be reused by another file.
    this.#pending++;
    try {
      const mode = this.#settings.fileMode;
      return this.#handle === null
        ? await pathOpen(this.#root, segments, flags, mode, openLeafFile)
        : await walkOpen(this.#root, segments, flags, mode, openLeafFile);
    } finally {
      if (--this.#pending === 0) this.#drained?.();
    }
  }

  async open(relativePath: string, options?: SandboxOpenOptions): Promise<FileHandle> {
    return (await this.openDetailed(relativePath, options)).handle;
  }

  async resolve(relativePath: string): Promise<string> {
    const { handle, realPath } = await this.openDetailed(relativePath);
    await handle.close();
    return realPath;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#pending > 0) await new Promise<void>((done) => (this.#drained = done));
      await this.#handle?.close();
    })();
    return this.#closing;
  }
}

function compileOptions(options: unknown): CompiledSandbox & {
  readonly mounts: MountPolicy;
  readonly unsafeAllowHostRoot: boolean;
  readonly unsafePathMode: boolean;
  readonly onAudit: AuditHook | undefined;
  readonly mountInfoFile: string;
  readonly walk: 'auto' | WalkIoKind;
} {
  // `undefined` means no options; `null`, like any other non-object, is a caller's mistake.
  const o = (options === undefined ? {} : options) as Record<string, unknown>;
  assertOptionsObject(o, 'options', [...PATH_OPTION_KEYS, ...OPTION_KEYS]);
  const rules = compilePathOptions(o, 'options', OPTION_KEYS);
  const procFd = optionalString(o, 'procFdDir', 'options') ?? '/proc/self/fd';
  const mountInfoFile = optionalString(o, 'mountInfoFile', 'options') ?? '/proc/self/mountinfo';
  if (!isAbsolute(procFd) || !isAbsolute(mountInfoFile)) {
    throw new InvalidOptionError('options.procFdDir', 'and options.mountInfoFile must be absolute paths');
  }
  return Object.freeze({
    rules,
    globs: compileGlobs(o, 'options', rules.allowDotfiles),
    symlinks: optionalChoice(o, 'symlinks', 'options', ['in-root', 'none'] as const) ?? 'in-root',
    noCrossDevice: optionalBoolean(o, 'noCrossDevice', 'options') ?? false,
    singleLinkOnly: optionalBoolean(o, 'singleLinkOnly', 'options') ?? false,
    fileMode: optionalInteger(o, 'fileMode', 'options', 0, 0o777) ?? 0o600,
    procFd,
    mounts: optionalChoice(o, 'mounts', 'options', ['warn', 'refuse', 'ignore'] as const) ?? 'warn',
    unsafeAllowHostRoot: optionalBoolean(o, 'unsafeAllowHostRoot', 'options') ?? false,
    unsafePathMode: optionalBoolean(o, 'unsafePathMode', 'options') ?? false,
    onAudit: optionalFunction<AuditHook>(o, 'onAudit', 'options'),
    mountInfoFile,
    walk: optionalChoice(o, 'walk', 'options', ['auto', 'sync', 'async'] as const) ?? 'auto',
  });
}

/**
 * Opens `root` as a sandbox. The root must be an absolute path to an existing directory; its real path is taken
 * (symlinks in the root path itself are followed once, here) and held open, so renaming it later does not move the
 * sandbox. Fails closed, with `ERR_SANDBOX_UNSUPPORTED`, off Linux or when `/proc/self/fd` does not behave as the
 * walk needs (unless `unsafePathMode`, a racy development-only fallback: check `sandbox.mode`); with `ERR_SANDBOX_CONFIG` for a host root (unless `unsafeAllowHostRoot`), a missing root or, with
 * `mounts: 'refuse'`, a mount point below the root. Malformed options throw `InvalidOptionError`.
 *
 * Guarantees: `open()` never returns a file outside the root through `..` in any spelling, absolute paths, symlinks
 * (absolute, escaping, looping or swapped during the walk) or special files. Limits: bind mounts and hard links
 * inside the root are not visible to path rules (see `mounts`, `noCrossDevice`, `singleLinkOnly`).
 *
 * @example
 * ```ts
 * import { createSandbox } from 'koa-mtls';
 * const secrets = await createSandbox('/etc/tls', { allow: ['*.crt', '..*\/*.crt'] }); // a Kubernetes Secret volume
 * const files = await createSandbox('/srv/files', { symlinks: 'none', deny: ['**\/*.key'] });
 * const handle = await files.open('reports/q1.pdf');
 * const upload = await files.open('incoming/new.bin', { flags: 'wx' });
 * ```
 */
export async function createSandbox(root: string, options?: SandboxOptions): Promise<Sandbox> {
  const settings = compileOptions(options);
  if (typeof root !== 'string' || root.includes('\0') || !isAbsolute(root)) {
    // A relative root would silently depend on the working directory the service happens to start in.
    const given = typeof root === 'string' ? ` (got ${JSON.stringify(root)})` : '';
    throw new InvalidOptionError(
      'root',
      `must be an absolute path${given}; resolve it once at startup, e.g. createSandbox(path.resolve('reports'))`,
    );
  }
  // The walk needs Linux's /proc/self/fd magic links; macOS /dev/fd and Windows have no equivalent.
  const linux = process.platform === 'linux';
  if (!linux && !settings.unsafePathMode) throw unsupported('createSandbox needs Linux (/proc/self/fd)');
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw configError(
      `sandbox root ${JSON.stringify(root)} does not exist or is unreadable (${code}); create the directory or pass an existing one`,
      err,
    );
  }
  // Check both spellings: `/var/run` is a link to `/run` on most systems.
  if (
    !settings.unsafeAllowHostRoot &&
    (isHostRoot(normalize(root).replace(/\/+$/, '') || '/') || isHostRoot(realRoot))
  ) {
    throw configError('sandbox root exposes the host; pass unsafeAllowHostRoot to force it');
  }
  if (!linux) return unsafePathSandbox(realRoot, settings, 'platform');
  let handle: FileHandle;
  try {
    handle = await open(realRoot, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    throw configError('sandbox root is not a readable directory', err);
  }
  try {
    const st = await handle.stat();
    try {
      await probeProc(settings.procFd, handle.fd, realRoot, st.dev, st.ino);
    } catch (err) {
      if (!settings.unsafePathMode) throw err;
      await handle.close();
      return await unsafePathSandbox(realRoot, settings, 'proc');
    }
    const mountId = rootMountId(settings, handle.fd);
    const scan = await scanMounts(realRoot, mountId, settings);
    const io = walkIo(settings.walk === 'auto' ? await autoWalk(realRoot, scan.fsTypes) : settings.walk);
    return new HeldSandbox({ handle, realRoot, dev: st.dev, mountId, mounts: scan.below, io }, settings);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/** The explicitly requested, racy fallback: no descriptor is held; every open goes by path. */
async function unsafePathSandbox(
  realRoot: string,
  settings: ReturnType<typeof compileOptions>,
  why: 'platform' | 'proc',
): Promise<Sandbox> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(realRoot);
  } catch (err) {
    throw configError('sandbox root is not a readable directory', err);
  }
  if (!st.isDirectory()) throw configError('sandbox root is not a readable directory');
  const scan = await scanMounts(realRoot, -1, settings);
  emitOperationalAudit(settings.onAudit, {
    kind: 'sandbox',
    outcome: 'warn',
    reason: 'UNSAFE_PATH_MODE',
    detail: { why },
  });
  const io = walkIo(settings.walk === 'sync' ? 'sync' : 'async');
  return new HeldSandbox({ handle: null, realRoot, dev: st.dev, mountId: -1, mounts: scan.below, io }, settings);
}

// statfs(2) f_type of procfs (linux/magic.h); a directory of ordinary symlinks is not a magic-link directory.
const PROC_SUPER_MAGIC = 0x9fa0;

/** The walk is only safe if `<procFd>/<fd>` is a live procfs magic link to the held directory; otherwise fail closed. */
async function probeProc(procFd: string, fd: number, realRoot: string, dev: number, ino: number): Promise<void> {
  try {
    const fs = await statfs(procFd);
    const viaProc = await stat(`${procFd}/${fd}/.`);
    const target = await readlink(`${procFd}/${fd}`);
    if (fs.type === PROC_SUPER_MAGIC && viaProc.dev === dev && viaProc.ino === ino && target === realRoot) return;
  } catch (err) {
    throw unsupported(`${procFd} is unavailable; the sandbox cannot open files safely`, err);
  }
  throw unsupported(`${procFd} does not point at the held root; the sandbox cannot open files safely`);
}

/** The root's mount id, for `noCrossDevice`; without `/proc/self/fdinfo` that option cannot hold: fail closed. */
function rootMountId(settings: ReturnType<typeof compileOptions>, fd: number): number {
  try {
    return mountIdOf(fdInfoDirOf(settings.procFd), fd);
  } catch (err) {
    if (settings.noCrossDevice) throw unsupported('noCrossDevice needs mnt_id in /proc/self/fdinfo', err);
    return -1;
  }
}

interface MountScan {
  /** Mount points strictly below the root, relative to it. */
  readonly below: readonly string[];
  /** Filesystem types of the root's mount and every mount below it (empty when the table was not read). */
  readonly fsTypes: readonly string[];
}

/**
 * Reads the mount table once: refuses a root on a mount of a host path (judged by the mount entry, so `-v /:/host`
 * is caught whatever the mount point is called), then applies the `mounts` policy to mounts below the root.
 */
async function scanMounts(
  realRoot: string,
  mountId: number,
  settings: ReturnType<typeof compileOptions>,
): Promise<MountScan> {
  if (settings.mounts === 'ignore') return { below: [], fsTypes: [] };
  let table: readonly MountEntry[];
  try {
    table = await readMounts(settings.mountInfoFile);
  } catch (err) {
    if (settings.mounts === 'refuse') throw unsupported('the mount table is unreadable', err);
    emitOperationalAudit(settings.onAudit, { kind: 'sandbox', outcome: 'warn', reason: 'MOUNTS_UNKNOWN' });
    return { below: [], fsTypes: [] };
  }
  const own = mountById(table, mountId) ?? containingMount(table, realRoot);
  if (own === undefined) {
    // The root's mount is not in the table (another namespace's table?): nothing can be judged from it.
    if (settings.mounts === 'refuse') throw unsupported('the sandbox root is not in the mount table');
    emitOperationalAudit(settings.onAudit, { kind: 'sandbox', outcome: 'warn', reason: 'MOUNTS_UNKNOWN' });
    return { below: [], fsTypes: [] };
  }
  const hostReason = settings.unsafeAllowHostRoot ? undefined : hostMountReason(own, realRoot, isHostRoot);
  // A host directory mounted as the root serves the host whatever the root's path is called.
  if (hostReason !== undefined) {
    throw configError(
      `sandbox root is on ${describeMount(own)}, which exposes ${hostReason}; pass unsafeAllowHostRoot to force it`,
    );
  }
  const entries = mountsBelow(table, realRoot);
  const fsTypes = [own.fsType, ...entries.map((m) => m.fsType)];
  if (entries.length === 0) return { below: [], fsTypes };
  const below = [...new Set(entries.map((m) => m.mountPoint.slice(realRoot.length + 1)))].sort();
  // A bind mount below the root is invisible to path rules: any host directory could be served from it.
  if (settings.mounts === 'refuse') {
    throw configError(`mount points lie below the sandbox root: ${entries.map(describeMount).join('; ')}`);
  }
  const mounts = entries.map((m) => ({
    path: m.mountPoint.slice(realRoot.length + 1),
    id: Number(m.id),
    fsType: m.fsType,
    source: m.source,
    root: m.root,
  }));
  emitOperationalAudit(settings.onAudit, {
    kind: 'sandbox',
    outcome: 'warn',
    reason: 'MOUNT_UNDER_ROOT',
    detail: { mounts: below, entries: mounts },
  });
  return { below, fsTypes };
}

/** Without a mount id: the mount whose mount point is the longest prefix of the root (the last such line wins). */
function containingMount(table: readonly MountEntry[], realRoot: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of table) {
    const inside = m.mountPoint === '/' || realRoot === m.mountPoint || realRoot.startsWith(`${m.mountPoint}/`);
    if (inside && (best === undefined || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** `'sync'` when every filesystem the walk can reach is local; the table's names, else the root's statfs type. */
async function autoWalk(realRoot: string, fsTypes: readonly string[]): Promise<WalkIoKind> {
  if (fsTypes.length > 0) return allLocal(fsTypes) ? 'sync' : 'async';
  try {
    return isLocalMagic((await statfs(realRoot)).type) ? 'sync' : 'async';
  } catch {
    return 'async';
  }
}
