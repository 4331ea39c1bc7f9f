/**
 * Makes an opened sandbox file the response body, with what the open already knows: its length, its modification
 * time, its type from the requested name. Reads are fitted to the file instead of a read stream's fixed 64 KiB
 * chunks: a file up to 1 MiB becomes a Buffer from one read, as `fs.readFile` would hold it (synchronously up to
 * 64 KiB on a sandbox whose walk is synchronous: a local filesystem, where a page-cache read of a few KiB costs less
 * than a threadpool round trip); a larger one is streamed in reads of 1 MiB, so memory per response stays bounded.
 */
import { createReadStream, read, readSync } from 'node:fs';
import { extname } from 'node:path';
import { promisify } from 'node:util';
import type { Context } from 'koa';
import type { WalkResult } from './fd-walk.js';
import type { FileDescriptor } from './walk-io.js';

const readAsync = promisify(read);

/** Files up to this size are read on the event loop when the sandbox's walk is synchronous. */
export const SYNC_READ_BYTES = 64 * 1024;

/** Files up to this size become a Buffer body from one read; larger ones are streamed in reads of this size. */
export const BUFFERED_READ_BYTES = 1024 * 1024;

/** The whole file; fewer bytes when it shrank since its `fstat`, never more (Content-Length is set). */
async function readWhole(opened: WalkResult<FileDescriptor>): Promise<Buffer> {
  const size = opened.stats.size;
  const { fd, kind } = opened.handle;
  const synchronous = kind === 'sync' && size <= SYNC_READ_BYTES;
  const buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const bytesRead = synchronous
      ? readSync(fd, buffer, filled, size - filled, filled)
      : (await readAsync(fd, buffer, filled, size - filled, filled)).bytesRead;
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === size ? buffer : buffer.subarray(0, filled);
}

/**
 * Sets `ctx.body` to the opened file; the handle is closed after a single read, or by the stream (Koa destroys a
 * stream body when the response ends, also for HEAD and aborted requests).
 */
export async function sendOpenedFile(
  ctx: Context,
  opened: WalkResult<FileDescriptor>,
  requestPath: string,
): Promise<void> {
  const { stats, handle } = opened;
  // The requested name, not a link target's, decides the type: what the client asked for is what it gets labelled.
  if (!ctx.res.hasHeader('content-type')) ctx.type = extname(requestPath) || 'application/octet-stream';
  // Files from a sandbox are often user-supplied: a browser must not sniff HTML or script out of them.
  if (!ctx.res.hasHeader('x-content-type-options')) ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.lastModified = stats.mtime;
  if (stats.size <= BUFFERED_READ_BYTES) {
    let body: Buffer;
    try {
      body = await readWhole(opened);
    } finally {
      // Read-only: nothing to flush, and the response need not wait for the close.
      handle.close().catch(() => undefined);
    }
    ctx.body = body;
    return;
  }
  // The stream owns the descriptor from here and closes it (autoClose) when it ends or is destroyed.
  const stream = createReadStream('', {
    fd: handle.fd,
    start: 0,
    // Exactly the bytes Content-Length announces, even if the file grows meanwhile.
    end: stats.size - 1,
    highWaterMark: BUFFERED_READ_BYTES,
  });
  ctx.body = stream;
  ctx.length = stats.size;
}
