/** The parts `watchCertificates` detects changes with, each alone (fake timers, a temporary directory). */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRetryTimer, filesDigest, pollContents, retryDelay } from '../../src/tls/file-watch.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

let dir: ReturnType<typeof temporaryDirectory>;
beforeEach(() => {
  dir = temporaryDirectory('file-watch');
});
afterEach(() => {
  vi.useRealTimers();
  dir.dispose();
});

describe('filesDigest', () => {
  it('changes with any byte of any file, and with a file that became unreadable', () => {
    const a = join(dir.path, 'a.pem');
    const b = join(dir.path, 'b.pem');
    writeFileSync(a, 'one');
    writeFileSync(b, 'two');
    const first = filesDigest([a, b]);
    expect(filesDigest([a, b])).toBe(first);
    writeFileSync(b, 'two!');
    const second = filesDigest([a, b]);
    expect(second).not.toBe(first);
    rmSync(a);
    expect(filesDigest([a, b])).not.toBe(second);
  });
});

describe('retryDelay', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [5, 16_000],
    [6, 30_000],
    [40, 30_000],
  ])('after %i failures waits %i ms (first 1000, doubling, capped at 30000)', (failures, expected) => {
    expect(retryDelay(failures, { firstMs: 1000, maxMs: 30_000 })).toBe(expected);
  });
});

describe('createRetryTimer', () => {
  it('runs once after a burst has been quiet for the delay', () => {
    vi.useFakeTimers();
    const run = vi.fn(() => true);
    const timer = createRetryTimer({ firstMs: 10, maxMs: 100 }, run);
    timer.schedule(50);
    vi.advanceTimersByTime(40);
    timer.schedule(50);
    vi.advanceTimersByTime(40);
    expect(run).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10);
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('retries a failed run with backoff until it succeeds', () => {
    vi.useFakeTimers();
    const outcomes = [false, false, true];
    const run = vi.fn(() => outcomes.shift() ?? true);
    const timer = createRetryTimer({ firstMs: 10, maxMs: 100 }, run);
    timer.schedule(0);
    vi.advanceTimersByTime(0);
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10);
    expect(run).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(19);
    expect(run).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1);
    expect(run).toHaveBeenCalledTimes(3);
    vi.advanceTimersByTime(1000);
    expect(run).toHaveBeenCalledTimes(3);
  });

  it('does nothing once closed, not even a pending run', () => {
    vi.useFakeTimers();
    const run = vi.fn(() => false);
    const timer = createRetryTimer({ firstMs: 10, maxMs: 100 }, run);
    timer.schedule(50);
    timer.close();
    timer.close();
    timer.schedule(0);
    vi.advanceTimersByTime(1000);
    expect(run).not.toHaveBeenCalled();
  });
});

describe('pollContents', () => {
  it('reports a change against the contents last marked seen, until closed', () => {
    vi.useFakeTimers();
    const file = join(dir.path, 'tls.crt');
    writeFileSync(file, 'one');
    const onChange = vi.fn();
    const poll = pollContents([file], 100, onChange);
    vi.advanceTimersByTime(100);
    expect(onChange).not.toHaveBeenCalled();
    writeFileSync(file, 'two');
    vi.advanceTimersByTime(100);
    expect(onChange).toHaveBeenCalledTimes(1);
    poll.markSeen();
    vi.advanceTimersByTime(100);
    expect(onChange).toHaveBeenCalledTimes(1);
    writeFileSync(file, 'three');
    poll.close();
    vi.advanceTimersByTime(1000);
    expect(onChange).toHaveBeenCalledTimes(1);
  });
});
