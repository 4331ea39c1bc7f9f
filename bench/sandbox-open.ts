/**
 * `npx tsx bench/sandbox-open.ts [--quick]`: the cost of the sandbox, printed as JSON.
 *
 * - lexical validations per second (`validateSandboxPath` over a mix of accepted and refused inputs);
 * - `sandbox.open` + close against `fs.promises.open` + close of the same file, 16 opens in flight, at depth 1 and 3
 *   and through an in-root symlink; rounds interleave the two so that machine noise hits both alike (report the
 *   ratio, not the absolute numbers).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSandboxPath } from '../src/sandbox/lexical.js';
import { createSandbox } from '../src/sandbox/sandbox.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 7;
const roundMs = quick ? 300 : 700;
const inFlight = 16;

const LEXICAL_INPUTS = [
  'index.html',
  'reports/2024/q1.pdf',
  'a/b/c/d/e/f/g.txt',
  'do..ts.txt',
  '../etc/passwd',
  '%2e%2e%2f',
  '．．/etc',
  '.env',
  'CON.txt',
  'a//b',
  'x'.repeat(300),
  'café/日本.txt',
];

function lexicalPerSecond(): number {
  let count = 0;
  let sink = 0;
  const end = performance.now() + roundMs;
  while (performance.now() < end) {
    for (const input of LEXICAL_INPUTS) if (validateSandboxPath(input).ok) sink++;
    count += LEXICAL_INPUTS.length;
  }
  if (sink < 0) throw new Error('unreachable');
  return (count / roundMs) * 1000;
}

async function opsPerSecond(openOnce: () => Promise<{ close(): Promise<void> }>): Promise<number> {
  let count = 0;
  const end = performance.now() + roundMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const handle = await openOnce();
      await handle.close();
      count++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (count / (performance.now() - started)) * 1000;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

const dir = mkdtempSync(join(tmpdir(), 'koa-mtls-bench-sandbox-'));
try {
  mkdirSync(join(dir, 'a/b'), { recursive: true });
  writeFileSync(join(dir, 'file.txt'), 'x'.repeat(1024));
  writeFileSync(join(dir, 'a/b/file.txt'), 'x'.repeat(1024));
  symlinkSync('a/b/file.txt', join(dir, 'link.txt'));
  const sandbox = await createSandbox(dir);

  const cases = [
    { name: 'depth 1', relative: 'file.txt' },
    { name: 'depth 3', relative: 'a/b/file.txt' },
    { name: 'in-root symlink to depth 3', relative: 'link.txt' },
  ];
  const lexical: number[] = [];
  const results = cases.map((c) => ({ ...c, sandbox: [] as number[], native: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    lexical.push(lexicalPerSecond());
    for (const r of results) {
      r.native.push(await opsPerSecond(() => open(join(dir, r.relative), 'r')));
      r.sandbox.push(await opsPerSecond(() => sandbox.open(r.relative)));
    }
  }
  await sandbox.close();

  const round0 = (n: number): number => Math.round(n);
  console.log(
    JSON.stringify(
      {
        node: process.version,
        rounds,
        roundMs,
        inFlight,
        uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
        lexicalValidationsPerSecond: round0(median(lexical)),
        open: results.map((r) => ({
          case: r.name,
          fsPromisesOpenPerSecond: round0(median(r.native)),
          sandboxOpenPerSecond: round0(median(r.sandbox)),
          ratio: Number((median(r.sandbox) / median(r.native)).toFixed(3)),
        })),
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
