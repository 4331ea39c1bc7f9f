/**
 * `npx tsx bench/sandbox-open.ts [--quick]`: the cost of the sandbox, printed as JSON.
 *
 * - lexical validations per second (`validateSandboxPath` over a mix of accepted and refused inputs);
 * - `sandbox.open` + close against `fs.promises.open` + close of the same file, 16 opens in flight, at depth 1 and 3
 *   and through an in-root symlink, for the synchronous and the asynchronous walk;
 * - the file route without HTTP: `sandbox.open()` + `createReadStream()` read to the end (both walks), and
 *   `sandbox.open()` + `handle.readFile()` (synchronous walk), against a naive `fs.promises.readFile(join(root, name))`,
 *   for 1 KiB and 1 MiB: operations per second and CPU time per operation (`process.cpuUsage()`, all threads).
 *
 * Rounds interleave the variants so that machine noise hits them alike; each ratio is reported with its spread (the
 * lowest and highest per-round ratio). `--single <readfile|stream|sync|async|sync-readfile> <1k|1m> <count>` runs one route variant
 * `count` times and exits, for `perf stat -e instructions` or callgrind.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSandboxPath } from '../src/sandbox/lexical.js';
import { createSandbox, type Sandbox } from '../src/sandbox/sandbox.js';

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

interface Sample {
  readonly perSecond: number;
  readonly cpuMicrosPerOp: number;
}

async function measure(once: () => Promise<void>): Promise<Sample> {
  let count = 0;
  const end = performance.now() + roundMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await once();
      count++;
    }
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { perSecond: (count / elapsed) * 1000, cpuMicrosPerOp: (used.user + used.system) / count };
}

const openClose = (opener: () => Promise<{ close(): Promise<void> }>) => async (): Promise<void> => {
  await (await opener()).close();
};

/** What a streaming route does with the file: read it to the end through a read stream (which closes it). */
async function streamed(sandbox: Sandbox, name: string): Promise<number> {
  const handle = await sandbox.open(name);
  let bytes = 0;
  for await (const chunk of handle.createReadStream()) bytes += (chunk as Buffer).length;
  return bytes;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const round3 = (n: number): number => Number(n.toFixed(3));

/** Median of the per-round ratios `a[i] / b[i]`, with their spread. */
function ratio(a: readonly number[], b: readonly number[]): { median: number; min: number; max: number } {
  const r = a.map((x, i) => x / (b[i] as number));
  return { median: round3(median(r)), min: round3(Math.min(...r)), max: round3(Math.max(...r)) };
}

const SIZES = { '1k': 1024, '1m': 1024 * 1024 } as const;
type Size = keyof typeof SIZES;

const dir = mkdtempSync(join(tmpdir(), 'koa-mtls-bench-sandbox-'));
try {
  mkdirSync(join(dir, 'a/b'), { recursive: true });
  writeFileSync(join(dir, 'file.txt'), 'x'.repeat(1024));
  writeFileSync(join(dir, 'a/b/file.txt'), 'x'.repeat(1024));
  for (const [size, bytes] of Object.entries(SIZES))
    writeFileSync(join(dir, `file-${size}.bin`), Buffer.alloc(bytes, 1));
  symlinkSync('a/b/file.txt', join(dir, 'link.txt'));
  const sync = await createSandbox(dir, { walk: 'sync' });
  const async = await createSandbox(dir, { walk: 'async' });

  const single = process.argv.indexOf('--single');
  if (single >= 0) {
    const [variant, size, count] = process.argv.slice(single + 1) as [string, Size, string];
    const name = `file-${size}.bin`;
    const once: Record<string, () => Promise<unknown>> = {
      readfile: () => readFile(join(dir, name)),
      stream: async () => {
        for await (const _ of (await open(join(dir, name))).createReadStream());
      },
      sync: () => streamed(sync, name),
      async: () => streamed(async, name),
      'sync-readfile': async () => {
        const handle = await sync.open(name);
        await handle.readFile();
        await handle.close();
      },
    };
    const run = once[variant];
    if (run === undefined) throw new Error(`--single ${variant}: one of ${Object.keys(once).join(', ')}`);
    for (let i = 0; i < Number(count); i++) await run();
  } else {
    const cases = [
      { name: 'depth 1', relative: 'file.txt' },
      { name: 'depth 3', relative: 'a/b/file.txt' },
      { name: 'in-root symlink to depth 3', relative: 'link.txt' },
    ];
    const lexical: number[] = [];
    const opens = cases.map((c) => ({ ...c, native: [] as number[], sync: [] as number[], async: [] as number[] }));
    const routes = (Object.keys(SIZES) as Size[]).map((size) => ({
      size,
      readFile: [] as Sample[],
      sync: [] as Sample[],
      async: [] as Sample[],
      handle: [] as Sample[],
    }));
    for (let round = 0; round < rounds; round++) {
      lexical.push(lexicalPerSecond());
      for (const r of opens) {
        r.native.push((await measure(openClose(() => open(join(dir, r.relative), 'r')))).perSecond);
        r.sync.push((await measure(openClose(() => sync.open(r.relative)))).perSecond);
        r.async.push((await measure(openClose(() => async.open(r.relative)))).perSecond);
      }
      for (const r of routes) {
        const name = `file-${r.size}.bin`;
        r.readFile.push(await measure(async () => void (await readFile(join(dir, name)))));
        r.sync.push(await measure(async () => void (await streamed(sync, name))));
        r.async.push(await measure(async () => void (await streamed(async, name))));
        r.handle.push(
          await measure(async () => {
            const handle = await sync.open(name);
            await handle.readFile();
            await handle.close();
          }),
        );
      }
    }
    const rate = (s: readonly Sample[]): number[] => s.map((x) => x.perSecond);
    // CPU ratio inverted (readFile's CPU per op over the sandbox's), so that for both numbers above 1 means faster.
    const cpu = (s: readonly Sample[]): number[] => s.map((x) => 1 / x.cpuMicrosPerOp);
    const cpuPerOp = (s: readonly Sample[]): number => Number(median(s.map((x) => x.cpuMicrosPerOp)).toFixed(1));
    console.log(
      JSON.stringify(
        {
          node: process.version,
          rounds,
          roundMs,
          inFlight,
          uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
          loadAverage: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(1))),
          lexicalValidationsPerSecond: Math.round(median(lexical)),
          open: opens.map((r) => ({
            case: r.name,
            fsPromisesOpenPerSecond: Math.round(median(r.native)),
            sandboxOpenPerSecond: Math.round(median(r.sync)),
            ratio: ratio(r.sync, r.native).median,
            spread: ratio(r.sync, r.native),
            asyncWalkOpenPerSecond: Math.round(median(r.async)),
            asyncWalkRatio: ratio(r.async, r.native),
          })),
          route: routes.map((r) => ({
            size: r.size,
            readFilePerSecond: Math.round(median(rate(r.readFile))),
            readFileCpuMicrosPerOp: cpuPerOp(r.readFile),
            sync: {
              perSecond: Math.round(median(rate(r.sync))),
              cpuMicrosPerOp: cpuPerOp(r.sync),
              throughputRatio: ratio(rate(r.sync), rate(r.readFile)),
              cpuRatio: ratio(cpu(r.sync), cpu(r.readFile)),
            },
            syncHandleReadFile: {
              perSecond: Math.round(median(rate(r.handle))),
              cpuMicrosPerOp: cpuPerOp(r.handle),
              throughputRatio: ratio(rate(r.handle), rate(r.readFile)),
              cpuRatio: ratio(cpu(r.handle), cpu(r.readFile)),
            },
            async: {
              perSecond: Math.round(median(rate(r.async))),
              cpuMicrosPerOp: cpuPerOp(r.async),
              throughputRatio: ratio(rate(r.async), rate(r.readFile)),
              cpuRatio: ratio(cpu(r.async), cpu(r.readFile)),
            },
          })),
        },
        null,
        2,
      ),
    );
  }
  await sync.close();
  await async.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
