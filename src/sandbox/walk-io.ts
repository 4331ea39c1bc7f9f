/**
 * The system calls of a walk, in two flavours chosen once per sandbox by `createSandbox`:
 *
 * - `sync`: directory opens, `lstat`, `readlink`, `fstat`, `ftruncate` and `unlink` run on the event loop. On a
 *   local filesystem they are answered from cached dentries and inodes in about a microsecond, far less than the
 *   threadpool round trip (queueing, a thread hop and an event-loop wake-up) they would otherwise cost.
 * - `async`: every call goes through libuv's threadpool, for network and FUSE filesystems where a call can block on
 *   a server.
 *
 * The leaf is always opened asynchronously: callers get a `FileHandle`, and Node can only make one by opening.
 *
 * @module sandbox/walk-io
 */
import {
  close,
  closeSync,
  fstatSync,
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

/** The system calls of a walk; `T | Promise<T>` so that one walk serves both flavours. */
export interface WalkIo {
  readonly kind: WalkIoKind;
  openDir(path: string, flags: number): number | Promise<number>;
  closeDir(fd: number): void | Promise<void>;
  /** `lstat`, or `undefined` when nothing has the name (ENOENT). */
  lstat(path: string): Stats | undefined | Promise<Stats | undefined>;
  readlink(path: string): string | Promise<string>;
  openFile(path: string, flags: number, mode: number): Promise<FileHandle>;
  fstat(handle: FileHandle): Stats | Promise<Stats>;
  truncate(handle: FileHandle): void | Promise<void>;
  unlink(path: string): void | Promise<void>;
}

const openAsync = promisify(open);
const closeAsync = promisify(close);

const SYNC_IO: WalkIo = Object.freeze({
  kind: 'sync',
  openDir: (path: string, flags: number) => openSync(path, flags),
  closeDir: (fd: number) => closeSync(fd),
  lstat: (path: string) => lstatSync(path, { throwIfNoEntry: false }),
  readlink: (path: string) => readlinkSync(path),
  openFile: (path: string, flags: number, mode: number) => openHandle(path, flags, mode),
  fstat: (handle: FileHandle) => fstatSync(handle.fd),
  truncate: (handle: FileHandle) => ftruncateSync(handle.fd, 0),
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
  fstat: (handle: FileHandle) => handle.stat(),
  truncate: (handle: FileHandle) => handle.truncate(0),
  unlink: (path: string) => unlink(path),
});

/** The system calls for `kind`. */
export const walkIo = (kind: WalkIoKind): WalkIo => (kind === 'sync' ? SYNC_IO : ASYNC_IO);
