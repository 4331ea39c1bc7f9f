/**
 * Instruction counts where throughput is noise (a shared, loaded machine): an entry point is bundled once with
 * esbuild and run under `valgrind --tool=callgrind` with two iteration counts; (Ir(high) − Ir(low)) / (high − low)
 * is the cost of one iteration, free of start-up, module loading and JIT warm-up. V8 runs with `--predictable`
 * (single-threaded, no timer-driven decisions) so that two runs differ only by the extra iterations.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleForNode } from '../../scripts/bundle-for-node.js';

/** Whether callgrind can run here. */
export function callgrindAvailable(): boolean {
  return spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Bundles `entry` (relative to the repository) into a temporary ESM file; returns it and a cleanup. */
export function bundle(entry: string): { file: string; dispose(): void } {
  const directory = mkdtempSync(join(tmpdir(), 'koa-mtls-instructions-'));
  const file = join(directory, 'entry.mjs');
  bundleForNode(entry, file);
  return { file, dispose: () => rmSync(directory, { recursive: true, force: true }) };
}

function instructions(file: string, args: readonly string[]): number {
  const directory = mkdtempSync(join(tmpdir(), 'koa-mtls-callgrind-'));
  try {
    const out = join(directory, 'callgrind.out');
    const run = spawnSync(
      'valgrind',
      ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--predictable', file, ...args],
      { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
    );
    if (run.status !== 0) throw new Error(`callgrind run failed: ${run.stderr.slice(-500)}`);
    const totals = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, 'utf8'));
    if (totals === null) throw new Error('no instruction total in the callgrind output');
    return Number(totals[1]);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Instructions per iteration of `file args… <iterations>`, from runs with `low` and `high` iterations. */
export function instructionsPerIteration(file: string, args: readonly string[], low: number, high: number): number {
  const lowCount = instructions(file, [...args, String(low)]);
  const highCount = instructions(file, [...args, String(high)]);
  return (highCount - lowCount) / (high - low);
}
