/**
 * Resource sampling for the soak: RSS and heap (after `global.gc` when Node runs with `--expose-gc`) and the number
 * of open descriptors (`/proc/self/fd`, Linux), compared between the first and the last third of the run.
 */
import { readdirSync } from 'node:fs';

/** One resource sample. */
export interface ResourceSample {
  readonly atMs: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** Memory of C++ objects bound to JS objects, and of ArrayBuffers/Buffers (reported, not judged). */
  readonly external: number;
  readonly arrayBuffers: number;
  readonly fds: number;
}

/** The tolerances a run must stay within (last third against first third, medians). */
export interface Tolerance {
  /** Allowed growth of the median RSS: a ratio plus an absolute slack in bytes. */
  readonly rssRatio: number;
  readonly rssSlackBytes: number;
  /** Allowed growth of the median heap after GC: a ratio plus an absolute slack in bytes. */
  readonly heapRatio: number;
  readonly heapSlackBytes: number;
  /** Allowed growth of the median open-descriptor count (in-flight connections vary with scheduling). */
  readonly fdSlack: number;
}

/** Medians of one third of the run. */
export interface ThirdSummary {
  readonly samples: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly externalMb: number;
  readonly arrayBuffersMb: number;
  readonly fds: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Whether the heap numbers are taken after a full collection. */
export const gcExposed = typeof gc === 'function';

function openDescriptors(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    // Not Linux: the descriptor check is skipped (reported as -1), never faked.
    return -1;
  }
}

/** Takes one sample; collects garbage first when possible so the heap number is the live set. */
export function sample(startedAt: number): ResourceSample {
  gc?.();
  const memory = process.memoryUsage();
  return {
    atMs: Date.now() - startedAt,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    fds: openDescriptors(),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

function summarize(samples: readonly ResourceSample[]): ThirdSummary {
  return {
    samples: samples.length,
    rssMb: mb(median(samples.map((s) => s.rss))),
    heapMb: mb(median(samples.map((s) => s.heapUsed))),
    externalMb: mb(median(samples.map((s) => s.external))),
    arrayBuffersMb: mb(median(samples.map((s) => s.arrayBuffers))),
    fds: median(samples.map((s) => s.fds)),
  };
}

/** Splits the samples into thirds and lists every tolerance the last third broke. */
export function compareThirds(
  samples: readonly ResourceSample[],
  tolerance: Tolerance,
): { first: ThirdSummary; last: ThirdSummary; violations: string[] } {
  const third = Math.floor(samples.length / 3);
  const firstSamples = samples.slice(0, third);
  const lastSamples = samples.slice(samples.length - third);
  const violations: string[] = [];
  if (third < 3) violations.push(`too few resource samples (${samples.length}) to compare thirds`);
  const first = summarize(firstSamples.length > 0 ? firstSamples : samples);
  const last = summarize(lastSamples.length > 0 ? lastSamples : samples);
  const firstRss = median(firstSamples.map((s) => s.rss));
  const lastRss = median(lastSamples.map((s) => s.rss));
  const firstHeap = median(firstSamples.map((s) => s.heapUsed));
  const lastHeap = median(lastSamples.map((s) => s.heapUsed));
  if (lastRss > firstRss * tolerance.rssRatio + tolerance.rssSlackBytes) {
    violations.push(`RSS grew from ${first.rssMb} MB to ${last.rssMb} MB`);
  }
  if (lastHeap > firstHeap * tolerance.heapRatio + tolerance.heapSlackBytes) {
    violations.push(`heap grew from ${first.heapMb} MB to ${last.heapMb} MB`);
  }
  if (first.fds >= 0 && last.fds > first.fds + tolerance.fdSlack) {
    violations.push(`open descriptors grew from ${first.fds} to ${last.fds}`);
  }
  return { first, last, violations };
}
