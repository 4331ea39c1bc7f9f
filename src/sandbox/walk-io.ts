/**
 * The system calls of a walk, in two flavours chosen once per sandbox by `createSandbox`:
 *
 * - `sync`: directory opens, `lstat`, `readlink`, `fstat`, `ftruncate` and `unlink` run on the event loop. On a
 *   local filesystem they are answered from cached dentries and inodes in about a microsecond, far less than the
 *   threadpool round trip (queueing, a thread hop and an event-loop wake-up) they would otherwise cost.
 * - `async`: every call goes through libuv's threadpool, for network and FUSE filesystems where a call can block on
 *   a server.
 *
 * The leaf comes in two forms. `open()` callers get a `FileHandle`, which Node can only make by an asynchronous open.
 * `send()` needs no handle: it gets a bare descriptor, opened, read and closed like the rest of the walk, so a small
 * file on a local filesystem is served without any threadpool round trip.
 *
 * @module sandbox/walk-io
 */
import {
  close,
  closeSync,
  fstat,
  fstatSync,
  ftruncate,
  ftruncateSync,
  lstatSync,
  open,
  openSync,
  readlinkSync,
  type Stats,
  unlinkSync,
} from 'node:fs';
import { type FileHandle, lstat, open as openHandle, readlink, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { errnoCode } from '../fs-errors/errno-reasons.js';

/** How a sandbox's walk runs its system calls. */
export type WalkIoKind = 'sync' | 'async';

/** An opened leaf as the walk checks it: a `FileHandle`, or a {@link FileDescriptor}. */
export interface OpenedFile {
  readonly fd: number;
  close(): Promise<void>;
}

/** A bare descriptor, closed the way its walk runs system calls. */
export interface FileDescriptor extends OpenedFile {
  readonly kind: WalkIoKind;
}

/** Opens a leaf (`flags` are numeric `O_*`); the walk passes one of the two openers of its {@link WalkIo}. */
export type LeafOpener<F extends OpenedFile> = (path: string, flags: number, mode: number) => F | Promise<F>;

/** The system calls of a walk; `T | Promise<T>` so that one walk serves both flavours. */
export interface WalkIo {
  readonly kind: WalkIoKind;
  openDir(path: string, flags: number): number | Promise<number>;
  closeDir(fd: number): void | Promise<void>;
  /** `lstat`, or `undefined` when nothing has the name (ENOENT). */
  lstat(path: string): Stats | undefined | Promise<Stats | undefined>;
  readlink(path: string): string | Promise<string>;
  openFile: LeafOpener<FileHandle>;
  openDescriptor: LeafOpener<FileDescriptor>;
  fstat(fd: number): Stats | Promise<Stats>;
  truncate(fd: number): void | Promise<void>;
  unlink(path: string): void | Promise<void>;
}

const openAsync = promisify(open);
const closeAsync = promisify(close);
const fstatAsync = promisify(fstat);
const ftruncateAsync = promisify(ftruncate);

// `async`, so that a failing closeSync rejects like the asynchronous close instead of throwing.
const syncDescriptor = (fd: number): FileDescriptor => ({ kind: 'sync', fd, close: async () => closeSync(fd) });

const asyncDescriptor = (fd: number): FileDescriptor => ({ kind: 'async', fd, close: () => closeAsync(fd) });

const SYNC_IO: WalkIo = Object.freeze({
  kind: 'sync',
  openDir: (path: string, flags: number) => openSync(path, flags),
  closeDir: (fd: number) => closeSync(fd),
  lstat: (path: string) => lstatSync(path, { throwIfNoEntry: false }),
  readlink: (path: string) => readlinkSync(path),
  openFile: (path: string, flags: number, mode: number) => openHandle(path, flags, mode),
  openDescriptor: (path: string, flags: number, mode: number) => syncDescriptor(openSync(path, flags, mode)),
  fstat: (fd: number) => fstatSync(fd),
  truncate: (fd: number) => ftruncateSync(fd, 0),
  unlink: (path: string) => unlinkSync(path),
});

const ASYNC_IO: WalkIo = Object.freeze({
  kind: 'async',
  openDir: (path: string, flags: number) => openAsync(path, flags),
  closeDir: (fd: number) => closeAsync(fd),
  lstat: (path: string) =>
    lstat(path).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }),
  readlink: (path: string) => readlink(path),
  openFile: (path: string, flags: number, mode: number) => openHandle(path, flags, mode),
  openDescriptor: async (path: string, flags: number, mode: number) =>
    asyncDescriptor(await openAsync(path, flags, mode)),
  fstat: (fd: number) => fstatAsync(fd),
  truncate: (fd: number) => ftruncateAsync(fd, 0),
  unlink: (path: string) => unlink(path),
});

/** The system calls for `kind`. */
export const walkIo = (kind: WalkIoKind): WalkIo => (kind === 'sync' ? SYNC_IO : ASYNC_IO);
