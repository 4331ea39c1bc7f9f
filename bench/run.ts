/**
 * `npm run bench [-- --quick]`: every benchmark side by side in one run, reported as ratios to a baseline measured
 * in the same rounds (these machines are shared and noisy; absolute numbers drift, ratios much less).
 *
 * Writes bench/results.json and the table in bench/README.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFixtures } from './harness/fixtures.js';
import { runLoad, startServer } from './harness/processes.js';
import { type Summary, summarize } from './harness/stats.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 5;
const seconds = quick ? 2 : 5;
const connections = 16;

interface Comparison {
  readonly name: string;
  readonly generator: 'keep-alive' | 'handshake';
  readonly path: string;
  readonly baseline: string;
  readonly variants: readonly string[];
  /** variant → minimum acceptable ratio to the baseline. */
  readonly targets: Readonly<Record<string, number>>;
}

const comparisons: readonly Comparison[] = [
  {
    name: 'keep-alive JSON route',
    generator: 'keep-alive',
    path: '/',
    baseline: 'bare',
    variants: ['peer-getpeercertificate', 'peer-client-certificate-auth'],
    targets: {},
  },
  {
    name: 'keep-alive 1 KiB file',
    generator: 'keep-alive',
    path: '/file-1k.bin',
    baseline: 'file-readfile',
    variants: [],
    targets: {},
  },
  {
    name: 'new connection per request (1,000 distinct client certificates)',
    generator: 'handshake',
    path: '/',
    baseline: 'bare',
    variants: ['peer-getpeercertificate'],
    targets: {},
  },
];

interface VariantResult {
  readonly variant: string;
  readonly requestsPerSecond: Summary;
  readonly ratio: Summary;
  readonly target?: number;
  readonly errors: number;
}

async function measure(comparison: Comparison, fixturesPath: string): Promise<VariantResult[]> {
  const names = [comparison.baseline, ...comparison.variants];
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const errors: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order every round so no variant always runs first (or last) on a warming machine.
    const order = names.map((_, i) => names[(i + round) % names.length] as string);
    for (const variant of order) {
      const server = await startServer(variant, fixturesPath);
      try {
        await runLoad(comparison.generator, fixturesPath, server.port, comparison.path, 1, connections);
        const result = await runLoad(
          comparison.generator,
          fixturesPath,
          server.port,
          comparison.path,
          seconds,
          connections,
        );
        perRound[variant]?.push(result.requests / result.seconds);
        errors[variant] = (errors[variant] ?? 0) + result.errors;
      } finally {
        await server.stop();
      }
    }
  }
  const base = perRound[comparison.baseline] as number[];
  return names.map((variant) => {
    const values = perRound[variant] as number[];
    const target = comparison.targets[variant];
    return {
      variant,
      requestsPerSecond: summarize(values),
      ratio: summarize(values.map((v, i) => v / (base[i] as number))),
      ...(target === undefined ? {} : { target }),
      errors: errors[variant] ?? 0,
    };
  });
}

function table(results: { comparison: Comparison; variants: VariantResult[] }[]): string {
  const rows = [
    '| benchmark | variant | req/s (median, min–max) | ratio to baseline (median, min–max) | target | errors |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const { comparison, variants } of results) {
    for (const v of variants) {
      const rps = `${v.requestsPerSecond.median.toFixed(0)} (${v.requestsPerSecond.min.toFixed(0)}–${v.requestsPerSecond.max.toFixed(0)})`;
      const ratio =
        v.variant === comparison.baseline
          ? 'baseline'
          : `${v.ratio.median.toFixed(3)} (${v.ratio.min.toFixed(3)}–${v.ratio.max.toFixed(3)})`;
      const target =
        v.target === undefined ? '' : `≥ ${v.target} ${v.ratio.median >= v.target ? 'met' : '**not met**'}`;
      rows.push(`| ${comparison.name} | ${v.variant} | ${rps} | ${ratio} | ${target} | ${v.errors} |`);
    }
  }
  return rows.join('\n');
}

const work = mkdtempSync(join(tmpdir(), 'koa-mtls-bench-'));
try {
  writeFileSync(join(work, 'file-1k.bin'), Buffer.alloc(1024, 7));
  const fixturesPath = join(work, 'fixtures.json');
  await makeFixtures(fixturesPath, work, 1000);
  const results = [];
  for (const comparison of comparisons) {
    console.log(`bench: ${comparison.name}`);
    results.push({ comparison, variants: await measure(comparison, fixturesPath) });
  }
  const environment = {
    date: new Date().toISOString(),
    node: process.version,
    openssl: process.versions.openssl,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    mode: quick ? 'quick' : 'full',
    rounds,
    secondsPerRun: seconds,
    connections,
  };
  const benchDir = fileURLToPath(new URL('.', import.meta.url));
  writeFileSync(join(benchDir, 'results.json'), `${JSON.stringify({ environment, results }, null, 2)}\n`);
  const readmePath = join(benchDir, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const generated = `<!-- results:start -->\n${Object.entries(environment)
    .map(([k, v]) => `${k}: ${v}`)
    .join(' · ')}\n\n${table(results)}\n<!-- results:end -->`;
  writeFileSync(readmePath, readme.replace(/<!-- results:start -->[\s\S]*<!-- results:end -->/, generated));
  console.log(table(results));
} finally {
  rmSync(work, { recursive: true, force: true });
}
