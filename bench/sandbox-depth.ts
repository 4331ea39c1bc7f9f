/**
 * `sandbox.open` + close against `fs.promises.open` + close of the same file, at path depths 1 to 32 (16 opens in
 * flight, rounds interleaved so machine noise hits both alike). Uses the sandbox's public entry points
 * (`createSandbox`, `Sandbox.open`); prints JSON `{ depths: [{ depth, ratio, … }] }`.
 *
 * Run: npx tsx bench/sandbox-depth.ts [--quick]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSandbox } from '../src/sandbox/sandbox.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 5;
const roundMs = quick ? 150 : 400;
const inFlight = 16;
const DEPTHS = [1, 2, 4, 8, 16, 32];

async function opsPerSecond(openOnce: () => Promise<{ close(): Promise<void> }>): Promise<number> {
  let count = 0;
  const started = performance.now();
  const deadline = started + roundMs;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        const handle = await openOnce();
        await handle.close();
        count++;
      }
    }),
  );
  return (count / (performance.now() - started)) * 1000;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

const dir = mkdtempSync(join(tmpdir(), 'koa-mtls-bench-depth-'));
try {
  const cases = DEPTHS.map((depth) => {
    const directories = Array.from({ length: depth - 1 }, (_, index) => `d${index}`);
    const relative = [...directories, 'file.txt'].join('/');
    if (directories.length > 0) mkdirSync(join(dir, ...directories), { recursive: true });
    writeFileSync(join(dir, relative), 'x'.repeat(1024));
    return { depth, relative, native: [] as number[], sandboxed: [] as number[] };
  });
  const sandbox = await createSandbox(dir);
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      c.native.push(await opsPerSecond(() => open(join(dir, c.relative), 'r')));
      c.sandboxed.push(await opsPerSecond(() => sandbox.open(c.relative)));
    }
  }
  await sandbox.close();
  console.log(
    JSON.stringify({
      bench: 'sandbox-depth',
      rounds,
      depths: cases.map((c) => ({
        depth: c.depth,
        fsPromisesOpenPerSecond: Math.round(median(c.native)),
        sandboxOpenPerSecond: Math.round(median(c.sandboxed)),
        ratio: Number((median(c.sandboxed) / median(c.native)).toFixed(3)),
        ratioMin: Number(Math.min(...c.sandboxed.map((v, i) => v / (c.native[i] as number))).toFixed(3)),
        ratioMax: Number(Math.max(...c.sandboxed.map((v, i) => v / (c.native[i] as number))).toFixed(3)),
      })),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
