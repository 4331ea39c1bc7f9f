/**
 * `npm run bench [-- --quick] [-- --instructions]`: every benchmark side by side in one run, reported as ratios to a
 * baseline measured in the same rounds (these machines are shared and noisy; absolute numbers drift, ratios much
 * less), with the server's CPU time per request beside the throughput, and a verdict only where the spread allows one.
 * Then the scaling curves (policy size, distinct certificates, path depth) as SVG, and the policy micro benchmarks;
 * `--instructions` adds callgrind instruction counts per cold decision (slow: minutes).
 *
 * Writes bench/results.json, bench/curve-*.svg and the table in bench/README.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFixtures } from './harness/fixtures.js';
import { pinning, runJson, runLoad, startServer } from './harness/processes.js';
import type { AppResult } from './harness/server-cpu.js';
import { type MedianInterval, medianInterval, type Summary, summarize } from './harness/stats.js';
import { lineChart, type Series } from './harness/svg.js';

const quick = process.argv.includes('--quick');
const withInstructions = process.argv.includes('--instructions');
/** `--only keep-alive,curves`: run only these sections and print their tables (bench/README.md is left alone). */
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex === -1 ? undefined : new Set((process.argv[onlyIndex + 1] ?? '').split(','));
const runs = (section: string): boolean => only === undefined || only.has(section);
/** The value after `name` on the command line, or `undefined`. */
const optionValue = (name: string): string | undefined => {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
};
/** `--variants empty-2,peer-authz-100`: measure only these variants of the selected comparisons (with `--only`). */
const variantsText = optionValue('--variants');
const onlyVariants = variantsText === undefined ? undefined : new Set(variantsText.split(','));
/**
 * Rounds of a comparison: 9 bound the median between the second-lowest and second-highest round at 96%. `--rounds 25`
 * narrows the interval (the 8th to the 18th of 25 at 96%) for a long look at one comparison.
 */
const roundsText = optionValue('--rounds');
const rounds = roundsText === undefined ? (quick ? 3 : 9) : Number(roundsText);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, not ${roundsText}`);
/** A partial run prints its tables and leaves bench/README.md and results.json alone. */
const partial = only !== undefined || onlyVariants !== undefined || roundsText !== undefined;
const seconds = quick ? 1.2 : 5;
const warmupSeconds = quick ? 0.5 : 1;
const connections = 16;
const distinctClients = quick ? 500 : 100_000;
/** The memory run's clients: one connection each, ten requests on it. */
const memoryClients = Math.min(distinctClients, 10_000);

interface Comparison {
  readonly name: string;
  /** `keep-alive`, `file`, `new-connection` or `new-connection-10k`, for `--only`. */
  readonly section?: string;
  readonly generator: 'keep-alive' | 'handshake';
  readonly path: string;
  readonly baseline: string;
  readonly variants: readonly string[];
  /** variant → minimum acceptable ratio to the baseline. */
  readonly targets: Readonly<Record<string, number>>;
  /** Distinct client certificates the handshake generator cycles through (default 1,000). */
  readonly clients?: number;
  /** How long each side of an interleaved pair stays active (default 100 ms; a second for handshakes). */
  readonly windowMs?: number;
  /**
   * Handshakes only: every round is a measured window of one server per variant, primed once, instead of a fresh
   * server primed again (priming 10,000 certificates or more would otherwise take most of the run).
   */
  readonly primeOnce?: boolean;
}

const comparisons: readonly Comparison[] = [
  {
    name: 'keep-alive JSON route',
    section: 'keep-alive',
    generator: 'keep-alive',
    path: '/',
    baseline: 'bare',
    variants: ['empty-2', 'peer', 'peer-authz-100', 'peer-getpeercertificate', 'peer-client-certificate-auth'],
    targets: { 'peer-authz-100': 0.97 },
  },
  {
    name: 'keep-alive 1 KiB file',
    section: 'file',
    generator: 'keep-alive',
    path: '/file-1k.bin',
    baseline: 'file-readfile',
    variants: ['file-sandbox-only', 'file-sandbox-open-stream', 'file-sandbox'],
    targets: { 'file-sandbox-only': 0.95 },
  },
  {
    name: 'keep-alive 1 MiB file',
    section: 'file',
    generator: 'keep-alive',
    path: '/file-1m.bin',
    baseline: 'file-readfile',
    variants: ['file-sandbox-only', 'file-sandbox-open-stream'],
    targets: { 'file-sandbox-only': 0.98 },
    // 16 requests of ~2 ms each are in flight at a switch.
    windowMs: 1000,
  },
  {
    section: 'new-connection',
    name: `new connection per request (${Math.min(distinctClients, 1000).toLocaleString('en')} distinct client certificates)`,
    generator: 'handshake',
    path: '/',
    baseline: 'bare',
    variants: ['peer-authz-100', 'peer-trust-authz-100', 'peer-authz-100-first-seen'],
    targets: { 'peer-authz-100': 0.95, 'peer-trust-authz-100': 0.95 },
    clients: Math.min(distinctClients, 1000),
  },
  ...(distinctClients >= 10_000
    ? [
        {
          name: 'new connection per request (10,000 distinct client certificates)',
          // Its own section: priming 10,000 certificates per side makes it the longest comparison by far.
          section: 'new-connection-10k',
          generator: 'handshake' as const,
          path: '/',
          baseline: 'bare',
          variants: ['peer-authz-100', 'peer-authz-100-cache-10000'],
          targets: { 'peer-authz-100-cache-10000': 0.95 },
          clients: 10_000,
          primeOnce: true,
        },
      ]
    : []),
];

const unknownVariants = [...(onlyVariants ?? [])].filter(
  (v) => !comparisons.some((c) => runs(c.section ?? '') && c.variants.includes(v)),
);
if (unknownVariants.length > 0) {
  const known = [...new Set(comparisons.filter((c) => runs(c.section ?? '')).flatMap((c) => c.variants))];
  throw new Error(
    `--variants: no selected comparison has ${unknownVariants.join(', ')}; they have ${known.join(', ')}`,
  );
}

/** Scaling curves: one comparison per point, a short run each (the curves show a shape, not a verdict). */
const curveRounds = quick ? 2 : 3;
const ruleCounts = quick ? [1, 100, 10_000] : [1, 10, 100, 1000, 10_000];
const clientCounts = [10, 100, 1000, 10_000, 100_000].filter((n) => n <= distinctClients);
/** The identity cache's default size: beyond it the default-cache curve is first-seen every time, by construction. */
const defaultCacheSize = 1000;

async function curvePoint(
  comparison: Omit<Comparison, 'targets' | 'path' | 'generator' | 'primeOnce'>,
  fixturesPath: string,
): Promise<VariantResult> {
  const results = await measureWith(
    {
      ...comparison,
      targets: {},
      path: '/',
      generator: 'handshake',
      primeOnce: (comparison.clients ?? 0) >= 10_000,
    },
    fixturesPath,
    curveRounds,
  );
  return results[1] as VariantResult;
}

interface MemoryStats {
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly externalMiB: number;
  readonly fds: number;
}

interface MemoryResult {
  readonly requests: number;
  readonly errors: number;
  readonly clients: number;
  readonly before: MemoryStats;
  readonly after: MemoryStats;
}

/** The memory runs: one server per identity cache size, the same clients through each. */
const memoryCacheSizes = [defaultCacheSize, 10_000] as const;

function memoryTable(runs: readonly (MemoryResult & { readonly cacheSize: number })[]): string {
  const row = (cacheSize: number, when: string, m: MemoryStats) =>
    `| ${cacheSize.toLocaleString('en')} | ${when} | ${m.rssMiB.toFixed(1)} | ${m.heapUsedMiB.toFixed(1)} | ${m.externalMiB.toFixed(1)} | ${m.fds} |`;
  const [small, large] = runs;
  // The two servers differ only in how many verified peers they keep: the difference is what one costs.
  const perPeer =
    small === undefined || large === undefined
      ? []
      : [
          '',
          `Per cached verified peer ((${large.cacheSize.toLocaleString('en')}-entry server − ${small.cacheSize.toLocaleString('en')}-entry server) / ${(large.cacheSize - small.cacheSize).toLocaleString('en')}): ` +
            (['rssMiB', 'heapUsedMiB', 'externalMiB'] as const)
              .map(
                (k) =>
                  `${k.replace('MiB', '')} ${(((large.after[k] - small.after[k]) * 2 ** 20) / (large.cacheSize - small.cacheSize) / 1024).toFixed(1)} KiB`,
              )
              .join(', '),
        ];
  const first = runs[0];
  return [
    `Memory: ${first?.clients.toLocaleString('en')} distinct client certificates, one connection each with 10 requests (${runs.map((r) => `${r.requests.toLocaleString('en')} requests, ${r.errors} errors`).join('; ')}), through peerCertificate + a 100-rule requirePeer, one server per identity cache size. After a forced GC:`,
    '',
    '| cacheSize | when | RSS MiB | heap used MiB | external MiB | open fds |',
    '| --- | --- | --- | --- | --- | --- |',
    ...runs.flatMap((r) => [row(r.cacheSize, 'before', r.before), row(r.cacheSize, 'after', r.after)]),
    ...perPeer,
  ].join('\n');
}

interface AuthzMicro {
  readonly results: readonly { readonly case: string; readonly decisionsPerSecond: number }[];
}

interface AuthzScaling {
  readonly scaling: readonly {
    readonly family: string;
    readonly rules: number;
    readonly matchLastNs: number;
    readonly matchNoneNs: number;
  }[];
  readonly memory: {
    readonly identities: number;
    readonly retained: number;
    readonly heapBeforeMiB: number;
    readonly heapAfter2kMiB: number;
    readonly heapAfterMiB: number;
  };
}

interface AuthzInstructions {
  readonly skipped?: string;
  readonly results?: readonly {
    readonly family: string;
    readonly rules: number;
    readonly instructionsPerDecision: number;
  }[];
}

function scalingTable(scaling: AuthzScaling, instructions: AuthzInstructions | undefined): string {
  const sizes = [...new Set(scaling.scaling.map((r) => r.rules))];
  const rows = [
    `Cold decision (a new identity's first request) by policy size, ns, peer matching the last rule (timings on this machine; ratio = ${sizes.at(-1)?.toLocaleString('en')} rules / 10 rules):`,
    '',
    `| policy family | ${sizes.map((n) => n.toLocaleString('en')).join(' | ')} | ratio |`,
    `| --- | ${sizes.map(() => '---').join(' | ')} | --- |`,
  ];
  for (const family of [...new Set(scaling.scaling.map((r) => r.family))]) {
    const cells = scaling.scaling.filter((r) => r.family === family);
    const at = (n: number) => cells.find((r) => r.rules === n)?.matchLastNs ?? Number.NaN;
    const ratio = at(sizes.at(-1) ?? 0) / at(10);
    rows.push(
      `| ${family} | ${cells.map((r) => r.matchLastNs.toLocaleString('en')).join(' | ')} | ${ratio.toFixed(2)} |`,
    );
  }
  const m = scaling.memory;
  rows.push(
    '',
    `Memory: ${m.identities.toLocaleString('en')} distinct identities decided by a 100-rule policy, the newest ${m.retained.toLocaleString('en')} kept referenced (as the identity cache does): heap after GC ${m.heapBeforeMiB.toFixed(1)} MiB before, ${m.heapAfter2kMiB.toFixed(1)} MiB after ${(m.retained * 2).toLocaleString('en')}, ${m.heapAfterMiB.toFixed(1)} MiB after all (verdicts and views are weak: bounded by what holds the identities).`,
  );
  if (instructions?.results !== undefined) {
    rows.push('', '| instructions per cold decision (callgrind) | rules | instructions |', '| --- | --- | --- |');
    for (const r of instructions.results) {
      rows.push(
        `| ${r.family} | ${r.rules.toLocaleString('en')} | ${r.instructionsPerDecision.toLocaleString('en')} |`,
      );
    }
  }
  return rows.join('\n');
}

interface SandboxMicro {
  readonly lexicalValidationsPerSecond: number;
  readonly open: readonly {
    readonly case: string;
    readonly fsPromisesOpenPerSecond: number;
    readonly sandboxOpenPerSecond: number;
  }[];
}

interface MiddlewareCost {
  readonly results: readonly {
    readonly variant: string;
    readonly addedNanosPerRequest: Spread;
    readonly impliedKeepAliveRatio?: Implied;
    readonly coldAddedNanosPerRequest: Spread;
    readonly coldImpliedKeepAliveRatio?: Implied;
  }[];
}

type Spread = { readonly median: number; readonly min: number; readonly max: number };
type Implied = { readonly median: number; readonly worst: number };

interface ConnectionCost {
  readonly results: readonly {
    readonly variant: string;
    readonly addedMicrosKnown: Spread;
    readonly addedMicrosFirstSeen: Spread;
    readonly impliedRatioKnown?: Implied;
    readonly impliedRatioFirstSeen?: Implied;
  }[];
}

interface FileCost {
  readonly results: readonly {
    readonly file: string;
    readonly cpuMicros: { readonly readFile: number; readonly sandbox: number };
    readonly addedCpuMicros: Spread;
    readonly impliedRatio?: Implied;
  }[];
}

interface Micro {
  readonly authz: AuthzMicro;
  readonly sandbox: SandboxMicro;
  readonly middleware: MiddlewareCost;
  readonly connection: ConnectionCost;
  readonly file: FileCost;
}

function microTable(micro: Micro): string {
  const rows = ['| micro benchmark | per second | ratio |', '| --- | --- | --- |'];
  for (const r of micro.middleware.results) {
    const added = r.addedNanosPerRequest;
    const implied = r.impliedKeepAliveRatio;
    const cold = r.coldAddedNanosPerRequest;
    const coldImplied = r.coldImpliedKeepAliveRatio;
    rows.push(
      `| keep-alive request in-process, ${r.variant}: added ns per request ${added.median} (${added.min}–${added.max}) | ${Math.round(1e9 / Math.max(1, added.median)).toLocaleString('en')} | ${implied === undefined ? '' : `implied keep-alive ratio ${implied.median} (worst ${implied.worst})`} |`,
      `| keep-alive request in-process, ${r.variant}, caches evicted before each request: added ns ${cold.median} (${cold.min}–${cold.max}) | ${Math.round(1e9 / Math.max(1, cold.median)).toLocaleString('en')} | ${coldImplied === undefined ? '' : `implied keep-alive ratio ${coldImplied.median} (worst ${coldImplied.worst})`} |`,
    );
  }
  const impliedText = (label: string, implied: Implied | undefined) =>
    implied === undefined ? '' : `implied ${label} ratio ${implied.median} (worst ${implied.worst})`;
  for (const r of micro.connection.results) {
    const known = r.addedMicrosKnown;
    const first = r.addedMicrosFirstSeen;
    rows.push(
      `| new connection in-process, ${r.variant}, known certificate: added µs ${known.median} (${known.min}–${known.max}) | ${Math.round(1e6 / Math.max(1, known.median)).toLocaleString('en')} | ${impliedText('new-connection', r.impliedRatioKnown)} |`,
      `| new connection in-process, ${r.variant}, first-seen certificate: added µs ${first.median} (${first.min}–${first.max}) | ${Math.round(1e6 / Math.max(1, first.median)).toLocaleString('en')} | ${impliedText('new-connection', r.impliedRatioFirstSeen)} |`,
    );
  }
  for (const r of micro.file.results) {
    const added = r.addedCpuMicros;
    rows.push(
      `| sandboxed ${r.file} in-process vs readFile: CPU µs ${r.cpuMicros.sandbox} vs ${r.cpuMicros.readFile}, added ${added.median} (${added.min}–${added.max}) | | ${impliedText('file', r.impliedRatio)} |`,
    );
  }
  for (const r of micro.authz.results)
    rows.push(`| requirePeer, 100 rules: ${r.case} | ${r.decisionsPerSecond.toLocaleString('en')} | |`);
  rows.push(
    `| validateSandboxPath (lexical rules) | ${micro.sandbox.lexicalValidationsPerSecond.toLocaleString('en')} | |`,
  );
  for (const r of micro.sandbox.open) {
    const ratio = (r.sandboxOpenPerSecond / r.fsPromisesOpenPerSecond).toFixed(2);
    rows.push(
      `| sandbox.open ${r.case} (vs fs.promises.open ${r.fsPromisesOpenPerSecond.toLocaleString('en')}/s) | ${r.sandboxOpenPerSecond.toLocaleString('en')} | ${ratio} |`,
    );
  }
  return rows.join('\n');
}

interface VariantResult {
  readonly variant: string;
  readonly requestsPerSecond: Summary;
  /** This variant's requests per second over the baseline's in the same interleaved runs; none for the baseline. */
  readonly ratio: Summary | undefined;
  /** Server CPU µs per request, and the baseline's CPU per request over this variant's (a throughput-like ratio). */
  readonly cpuMicrosPerRequest: Summary | undefined;
  readonly cpuRatio: Summary | undefined;
  readonly target?: number;
  readonly errors: number;
}

const percent = (interval: MedianInterval): string => `${(interval.confidence * 100).toFixed(0)}%`;
const intervalText = (interval: MedianInterval): string => `${interval.low.toFixed(3)}–${interval.high.toFixed(3)}`;

/**
 * met only when the median's confidence interval (over the rounds) lies at or above the target both by throughput
 * and by server CPU time per request; not met when either lies below it; otherwise "too noisy to read" with both
 * intervals, rather than a verdict from noise. Both, because each hides a cost the other shows: on two cores the
 * load generator can saturate before the server, so throughput reads ≈ 1.0 while the server does more work per
 * request; CPU time alone misses a cost that is waiting rather than computing.
 */
function verdict(v: VariantResult): string {
  if (v.target === undefined || v.ratio === undefined) return '';
  const target = v.target;
  const byThroughput = medianInterval(v.ratio.runs);
  // Three rounds (a quick run) bound the median only at 75%: too weak for any verdict.
  if (byThroughput.confidence < 0.9) {
    return `≥ ${target}: no verdict from ${v.ratio.runs.length} rounds (${percent(byThroughput)} interval ${intervalText(byThroughput)})`;
  }
  const byCpu = v.cpuRatio === undefined ? undefined : medianInterval(v.cpuRatio.runs);
  const intervals = `throughput ${intervalText(byThroughput)}, CPU ${byCpu === undefined ? 'not measured' : intervalText(byCpu)} (${percent(byThroughput)})`;
  if (byThroughput.high < target || (byCpu !== undefined && byCpu.high < target)) {
    return `≥ ${target} **not met** (${intervals})`;
  }
  if (byThroughput.low >= target && byCpu !== undefined && byCpu.low >= target) return `≥ ${target} met (${intervals})`;
  return `≥ ${target}: **too noisy to read** (${intervals})`;
}

/**
 * Each variant against the baseline **in one server process, interleaved** (bench/harness/server.ts: the active app
 * alternates every 100 ms, every second for handshakes), one pair per variant per round: both sides of a ratio see
 * the same machine.
 */
async function measureWith(comparison: Comparison, fixturesPath: string, roundCount: number): Promise<VariantResult[]> {
  const { baseline } = comparison;
  const variants = comparison.variants.filter((variant) => onlyVariants === undefined || onlyVariants.has(variant));
  // Long against the work in flight when the active app changes (server.ts): 16 requests, or 16 handshakes.
  const window = comparison.generator === 'handshake' ? 1000 : (comparison.windowMs ?? 100);
  // A quick run measures ~1 s: shorter windows, so that each side is active several times in it.
  const windowMs = String(quick ? window / 5 : window);
  interface Pair {
    readonly baseRate: number;
    readonly rate: number;
    readonly baseCpu: number | undefined;
    readonly cpu: number | undefined;
  }
  const pairs: Record<string, Pair[]> = Object.fromEntries(variants.map((n) => [n, []]));
  const errors: Record<string, number> = Object.fromEntries(variants.map((n) => [n, 0]));
  /** Runs `windows` measured windows of `variant` against the baseline in one fresh server. */
  const measurePair = async (variant: string, windows: number): Promise<void> => {
    const server = await startServer(`${baseline},${variant}`, fixturesPath, [], ['--window-ms', windowMs]);
    try {
      const results = await runLoad(
        comparison.generator,
        fixturesPath,
        server.port,
        comparison.path,
        seconds,
        connections,
        warmupSeconds,
        comparison.clients,
        windows,
      );
      for (const result of results) {
        const [base, measured] = result.apps as [AppResult, AppResult];
        pairs[variant]?.push({
          baseRate: base.requestsPerSecond,
          rate: measured.requestsPerSecond,
          baseCpu: base.cpuMicrosPerRequest,
          cpu: measured.cpuMicrosPerRequest,
        });
        errors[variant] = (errors[variant] ?? 0) + result.errors;
      }
    } finally {
      await server.stop();
    }
  };
  if (comparison.primeOnce === true) {
    for (const variant of variants) await measurePair(variant, roundCount);
  } else {
    for (let round = 0; round < roundCount; round++) {
      // Rotate the order every round so no variant always runs first (or last) on a warming machine.
      for (let i = 0; i < variants.length; i++) await measurePair(variants[(i + round) % variants.length] as string, 1);
    }
  }
  const complete = (list: readonly Pair[]) => list.every((p) => p.cpu !== undefined && p.baseCpu !== undefined);
  const all = variants.flatMap((variant) => pairs[variant] as Pair[]);
  const baseRow: VariantResult = {
    variant: baseline,
    requestsPerSecond: summarize(all.map((p) => p.baseRate)),
    ratio: undefined,
    cpuMicrosPerRequest: complete(all) ? summarize(all.map((p) => p.baseCpu as number)) : undefined,
    cpuRatio: undefined,
    errors: 0,
  };
  return [
    baseRow,
    ...variants.map((variant) => {
      const list = pairs[variant] as Pair[];
      const target = comparison.targets[variant];
      return {
        variant,
        requestsPerSecond: summarize(list.map((p) => p.rate)),
        ratio: summarize(list.map((p) => p.rate / p.baseRate)),
        cpuMicrosPerRequest: complete(list) ? summarize(list.map((p) => p.cpu as number)) : undefined,
        cpuRatio: complete(list) ? summarize(list.map((p) => (p.baseCpu as number) / (p.cpu as number))) : undefined,
        ...(target === undefined ? {} : { target }),
        errors: errors[variant] ?? 0,
      };
    }),
  ];
}

const range = (s: Summary, digits: number): string =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

function table(results: { comparison: Comparison; variants: VariantResult[] }[]): string {
  const rows = [
    '| benchmark | variant | req/s (median, min–max) | ratio to baseline (median, min–max) | server CPU µs/request | CPU ratio | target | errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const { comparison, variants } of results) {
    for (const v of variants) {
      const rps = `${v.requestsPerSecond.median.toFixed(0)} (${v.requestsPerSecond.min.toFixed(0)}–${v.requestsPerSecond.max.toFixed(0)})`;
      const ratio = v.ratio === undefined ? 'baseline' : range(v.ratio, 3);
      const cpu = v.cpuMicrosPerRequest === undefined ? '' : range(v.cpuMicrosPerRequest, 1);
      const cpuRatio = v.cpuRatio === undefined || v.variant === comparison.baseline ? '' : range(v.cpuRatio, 3);
      rows.push(
        `| ${comparison.name} | ${v.variant} | ${rps} | ${ratio} | ${cpu} | ${cpuRatio} | ${verdict(v)} | ${v.errors} |`,
      );
    }
  }
  return rows.join('\n');
}

interface SandboxDepth {
  readonly depths: readonly {
    readonly depth: number;
    readonly ratio: number;
    readonly ratioMin: number;
    readonly ratioMax: number;
  }[];
}

const loadAtStart = loadavg()
  .map((l) => l.toFixed(1))
  .join('/');
const work = mkdtempSync(join(tmpdir(), 'koa-mtls-bench-'));
try {
  writeFileSync(join(work, 'file-1k.bin'), Buffer.alloc(1024, 7));
  writeFileSync(join(work, 'file-1m.bin'), Buffer.alloc(1024 * 1024, 7));
  const fixturesPath = join(work, 'fixtures.json');
  const needsFixtures = ['keep-alive', 'file', 'new-connection', 'new-connection-10k', 'memory', 'curves'].some(runs);
  // Keep-alive runs need one client certificate, the 1,000-certificate comparison 1,000 (issuing one takes ~8 ms,
  // copying one ~0.4 ms: fixtures.ts); only the curves need all 100,000.
  const clientsNeeded = runs('curves')
    ? distinctClients
    : ['new-connection-10k', 'memory'].some(runs)
      ? Math.min(10_000, distinctClients)
      : runs('new-connection')
        ? Math.min(1000, distinctClients)
        : 1;
  if (needsFixtures) await makeFixtures(fixturesPath, work, clientsNeeded);
  const parts: string[] = [];
  const results: { comparison: Comparison; variants: VariantResult[] }[] = [];
  const selected = comparisons.filter(
    (c) => runs(c.section ?? '') && (onlyVariants === undefined || c.variants.some((v) => onlyVariants.has(v))),
  );
  for (const comparison of selected) {
    console.log(`bench: ${comparison.name}`);
    results.push({ comparison, variants: await measureWith(comparison, fixturesPath, rounds) });
  }
  if (results.length > 0) parts.push(table(results));
  let memory: (MemoryResult & { readonly cacheSize: number })[] | undefined;
  if (runs('memory')) {
    console.log('bench: memory with many distinct clients');
    memory = [];
    for (const cacheSize of memoryCacheSizes) {
      const memoryServer = await startServer(`peer-authz-100-cache-${cacheSize}`, fixturesPath, ['--expose-gc']);
      try {
        const result = await runJson<MemoryResult>('./memory-load.ts', [
          fixturesPath,
          String(memoryServer.port),
          '10',
          String(connections),
          String(memoryClients),
        ]);
        memory.push({ ...result, cacheSize });
      } finally {
        await memoryServer.stop();
      }
    }
    parts.push(memoryTable(memory));
  }
  let micro: Micro | undefined;
  if (runs('micro')) {
    console.log('bench: micro (policy decisions, sandbox opens, middleware, connection and file cost)');
    // This run's baseline server CPU times per request turn the in-process added costs into ratios.
    const baselineCpu = (section: string, path: string, variant: string) =>
      results
        .find((r) => r.comparison.section === section && r.comparison.path === path)
        ?.variants.find((v) => v.variant === variant)?.cpuMicrosPerRequest?.median;
    const withBaseline = (flag: string, micros: number | undefined) =>
      micros === undefined ? [] : [flag, String(micros)];
    const microRounds = ['--rounds', quick ? '5' : '15'];
    micro = {
      authz: await runJson<AuthzMicro>('../authz-decisions.ts', []),
      sandbox: await runJson<SandboxMicro>('../sandbox-open.ts', quick ? ['--quick'] : []),
      middleware: await runJson<MiddlewareCost>('../middleware-cost.ts', [
        ...microRounds,
        ...withBaseline('--bare-us', baselineCpu('keep-alive', '/', 'bare')),
      ]),
      connection: await runJson<ConnectionCost>('../connection-cost.ts', [
        ...(quick ? ['--rounds', '3', '--connections', '100'] : ['--rounds', '9']),
        ...withBaseline('--bare-us', baselineCpu('new-connection', '/', 'bare')),
      ]),
      file: await runJson<FileCost>('../file-cost.ts', [
        ...microRounds,
        ...withBaseline('--readfile-1k-us', baselineCpu('file', '/file-1k.bin', 'file-readfile')),
        ...withBaseline('--readfile-1m-us', baselineCpu('file', '/file-1m.bin', 'file-readfile')),
      ]),
    };
    parts.push(microTable(micro));
  }
  let scaling: AuthzScaling | undefined;
  let instructions: AuthzInstructions | undefined;
  if (runs('scaling')) {
    console.log('bench: policy scaling (micro)');
    scaling = await runJson<AuthzScaling>('../authz-scaling.ts', quick ? ['--quick'] : [], ['--expose-gc']);
    instructions = withInstructions ? await runJson<AuthzInstructions>('../authz-instructions.ts', []) : undefined;
    parts.push(scalingTable(scaling, instructions));
  }
  const benchDir = fileURLToPath(new URL('.', import.meta.url));
  let curves: unknown;
  if (runs('curves')) {
    console.log('bench: curves');
    const rulesCurve: [number, VariantResult][] = [];
    for (const rules of ruleCounts) {
      const point = await curvePoint(
        {
          name: `rules ${rules}`,
          baseline: 'bare',
          variants: [`peer-authz-rules-${rules}`],
          clients: Math.min(1000, distinctClients),
        },
        fixturesPath,
      );
      rulesCurve.push([rules, point]);
    }
    // Two series: the default cache (up to 10× its size; beyond, every connection is first-seen whatever the count),
    // and a cache sized to the certificates (the same as the default up to its size).
    const clientsCurve: [number, VariantResult][] = [];
    const sizedCacheCurve: [number, VariantResult][] = [];
    for (const clients of clientCounts) {
      const variants = [
        ...(clients <= 10 * defaultCacheSize ? ['peer-authz-100'] : []),
        ...(clients > defaultCacheSize ? [`peer-authz-100-cache-${clients}`] : []),
      ];
      for (const variant of variants) {
        const point = await curvePoint(
          { name: `clients ${clients}`, baseline: 'bare', variants: [variant], clients },
          fixturesPath,
        );
        if (variant === 'peer-authz-100') clientsCurve.push([clients, point]);
        if (variant !== 'peer-authz-100' || clients <= defaultCacheSize) sizedCacheCurve.push([clients, point]);
      }
    }
    const depth = await runJson<SandboxDepth>('../sandbox-depth.ts', quick ? ['--quick'] : []);
    curves = { rulesCurve, clientsCurve, sizedCacheCurve, depth };
    const ratioSeries = (name: string, curve: [number, VariantResult][], cpu: boolean): Series => ({
      name,
      points: curve.flatMap(([x, v]) => {
        const ratio = cpu ? v.cpuRatio : v.ratio;
        return ratio === undefined ? [] : [[x, ratio.median] as const];
      }),
    });
    writeFileSync(
      join(benchDir, 'curve-rules.svg'),
      lineChart([ratioSeries('throughput ratio', rulesCurve, false), ratioSeries('CPU-time ratio', rulesCurve, true)], {
        title: 'New connection per request: identity + policy vs bare Koa, by policy size',
        xLabel: 'rules (exact SPIFFE IDs and DNS globs, log scale)',
        yLabel: 'ratio to bare',
        reference: { y: 0.95, label: 'target 0.95' },
      }),
    );
    writeFileSync(
      join(benchDir, 'curve-clients.svg'),
      lineChart(
        [
          ratioSeries('throughput, cacheSize 1,000 (default)', clientsCurve, false),
          ratioSeries('CPU time, cacheSize 1,000 (default)', clientsCurve, true),
          ratioSeries('throughput, cacheSize ≥ certificates', sizedCacheCurve, false),
          ratioSeries('CPU time, cacheSize ≥ certificates', sizedCacheCurve, true),
        ],
        {
          title: 'New connection per request, 100-rule policy, by distinct client certificates',
          xLabel: 'distinct client certificates (log scale)',
          yLabel: 'ratio to bare',
          reference: { y: 0.95, label: 'target 0.95' },
        },
      ),
    );
    writeFileSync(
      join(benchDir, 'curve-depth.svg'),
      lineChart([{ name: 'sandbox.open / fs.open', points: depth.depths.map((d) => [d.depth, d.ratio] as const) }], {
        title: 'sandbox.open vs fs.promises.open, by path depth',
        xLabel: 'path depth (log scale)',
        yLabel: 'ratio',
      }),
    );
    const curveRows = (label: string, curve: [number, VariantResult][]) =>
      curve.map(
        ([x, v]) =>
          `| ${label} | ${x.toLocaleString('en')} | ${v.ratio === undefined ? '' : range(v.ratio, 3)} | ${v.cpuRatio === undefined ? '' : range(v.cpuRatio, 3)} |`,
      );
    parts.push(
      [
        '| curve | x | throughput ratio (median, min–max) | CPU-time ratio |',
        '| --- | --- | --- | --- |',
        ...curveRows('rules', rulesCurve),
        ...curveRows('distinct certificates, cacheSize 1,000 (default)', clientsCurve),
        ...curveRows(
          'distinct certificates, cacheSize = certificates',
          sizedCacheCurve.filter(([x]) => x > defaultCacheSize),
        ),
        ...depth.depths.map(
          (d) => `| path depth (sandbox.open / fs.open) | ${d.depth} | ${d.ratio} (${d.ratioMin}–${d.ratioMax}) | |`,
        ),
      ].join('\n'),
    );
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
    pinned: pinning.available ? `server on CPU ${pinning.server}, load on CPU ${pinning.load}` : 'no (taskset missing)',
    loadAverage: `${loadAtStart} at start, ${loadavg()
      .map((l) => l.toFixed(1))
      .join('/')} at end`,
  };
  const generated = `${Object.entries(environment)
    .map(([k, v]) => `${k}: ${v}`)
    .join(' · ')}\n\n${parts.join('\n\n')}`;
  if (!partial) {
    writeFileSync(
      join(benchDir, 'results.json'),
      `${JSON.stringify({ environment, results, memory, micro, scaling, instructions, curves }, null, 2)}\n`,
    );
    const readmePath = join(benchDir, 'README.md');
    const readme = readFileSync(readmePath, 'utf8');
    writeFileSync(
      readmePath,
      readme.replace(
        /<!-- results:start -->[\s\S]*<!-- results:end -->/,
        `<!-- results:start -->\n${generated}\n<!-- results:end -->`,
      ),
    );
  }
  console.log(generated);
} finally {
  rmSync(work, { recursive: true, force: true });
}
