/**
 * The parts `watchCertificates` detects file changes with, each usable and testable alone: a content digest, a
 * directory watch, a content poll, and a timer that debounces reloads and retries failed ones with backoff.
 *
 * @module tls/file-watch
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';

/** A cheap fingerprint of the files' bytes, in order; an unreadable file contributes its error code (a change). */
export function filesDigest(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    try {
      hash.update(readFileSync(file));
    } catch (error) {
      hash.update(`unreadable:${file}:${error instanceof Error && 'code' in error ? String(error.code) : ''}`);
    }
  }
  return hash.digest('hex');
}

/**
 * Calls `onEvent` for any change in the **directories** of `files`: a Kubernetes `..data` symlink swap replaces the
 * files, so a watch on a file goes deaf after the first swap. A directory that cannot be watched (some filesystems)
 * or that vanishes is skipped: the poll still covers it. Returns a function that stops every watch.
 */
export function watchDirectoriesOf(files: readonly string[], onEvent: () => void): () => void {
  const watchers = [...new Set(files.map((file) => dirname(file)))].flatMap((directory) => {
    try {
      const watcher = watch(directory, { persistent: false }, onEvent);
      watcher.on('error', () => watcher.close());
      return [watcher];
    } catch {
      return [];
    }
  });
  return () => {
    for (const watcher of watchers) watcher.close();
  };
}

/** A poll of the files' contents, see {@link pollContents}. */
export interface ContentPoll {
  /** Records the current contents as seen: the next poll reports a change only against them. */
  markSeen(): void;
  /** Stops polling. */
  close(): void;
}

/**
 * Every `intervalMs`, compares the files' digest with the last one seen and calls `onChange` when it differs (it
 * catches events a directory watch misses, e.g. on NFS). The timer does not keep the process alive.
 */
export function pollContents(files: readonly string[], intervalMs: number, onChange: () => void): ContentPoll {
  let seen = filesDigest(files);
  const interval = setInterval(() => {
    if (filesDigest(files) !== seen) onChange();
  }, intervalMs);
  interval.unref();
  return {
    markSeen: () => {
      seen = filesDigest(files);
    },
    close: () => clearInterval(interval),
  };
}

/** When to retry a failed run: the first delay, doubling up to the cap. */
export interface RetryDelays {
  readonly firstMs: number;
  readonly maxMs: number;
}

/** A debounced runner, see {@link createRetryTimer}. */
export interface RetryTimer {
  /** Runs after `delayMs` of quiet: a second call before then restarts the wait. */
  schedule(delayMs: number): void;
  /** Cancels the pending run; later `schedule` calls do nothing. Idempotent. */
  close(): void;
}

/** The delay before retry number `failures` (1, 2, …): `firstMs`, doubling, at most `maxMs`. */
export function retryDelay(failures: number, delays: RetryDelays): number {
  return Math.min(delays.firstMs * 2 ** (failures - 1), delays.maxMs);
}

/**
 * Runs `run` once a burst of `schedule` calls has been quiet for the given delay; while `run` reports a failure
 * (returns `false`) it is run again after {@link retryDelay}. The timer does not keep the process alive.
 */
export function createRetryTimer(delays: RetryDelays, run: () => boolean): RetryTimer {
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let closed = false;
  const schedule = (delayMs: number): void => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      failures = run() ? 0 : failures + 1;
      if (failures > 0) schedule(retryDelay(failures, delays));
    }, delayMs);
    timer.unref();
  };
  return {
    schedule,
    close: () => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
