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
import { runJson, runLoad, startServer } from './harness/processes.js';
import { type Summary, summarize } from './harness/stats.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 5;
const seconds = quick ? 1.2 : 5;
const warmupSeconds = quick ? 0.5 : 1;
const connections = 16;
const distinctClients = quick ? 500 : 10_000;

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
    variants: ['peer', 'peer-authz-100', 'peer-getpeercertificate', 'peer-client-certificate-auth'],
    targets: { 'peer-authz-100': 0.97 },
  },
  {
    name: 'keep-alive 1 KiB file',
    generator: 'keep-alive',
    path: '/file-1k.bin',
    baseline: 'file-readfile',
    variants: ['file-sandbox-only', 'file-sandbox'],
    targets: { 'file-sandbox': 0.9 },
  },
  {
    name: `new connection per request (${Math.min(distinctClients, 1000).toLocaleString('en')} distinct client certificates)`,
    generator: 'handshake',
    path: '/',
    baseline: 'bare',
    variants: ['peer-authz-100'],
    targets: { 'peer-authz-100': 0.95 },
  },
];

interface MemoryStats {
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly fds: number;
}

interface MemoryResult {
  readonly requests: number;
  readonly errors: number;
  readonly clients: number;
  readonly before: MemoryStats;
  readonly after: MemoryStats;
}

function memoryTable(memory: MemoryResult): string {
  const row = (name: string, m: MemoryStats) =>
    `| ${name} | ${m.rssMiB.toFixed(1)} | ${m.heapUsedMiB.toFixed(1)} | ${m.fds} |`;
  return [
    `Memory: ${memory.requests.toLocaleString('en')} requests (${memory.errors} errors) from ${memory.clients.toLocaleString('en')} distinct client certificates, one connection each, through peerCertificate + a 100-rule requirePeer (identity cache: 1,000 entries). After a forced GC:`,
    '',
    '| when | RSS MiB | heap used MiB | open fds |',
    '| --- | --- | --- | --- |',
    row('before', memory.before),
    row('after', memory.after),
  ].join('\n');
}

interface AuthzMicro {
  readonly results: readonly { readonly case: string; readonly decisionsPerSecond: number }[];
}

interface SandboxMicro {
  readonly lexicalValidationsPerSecond: number;
  readonly open: readonly {
    readonly case: string;
    readonly fsPromisesOpenPerSecond: number;
    readonly sandboxOpenPerSecond: number;
  }[];
}

function microTable(micro: { authz: AuthzMicro; sandbox: SandboxMicro }): string {
  const rows = ['| micro benchmark | per second | ratio |', '| --- | --- | --- |'];
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
        const result = await runLoad(
          comparison.generator,
          fixturesPath,
          server.port,
          comparison.path,
          seconds,
          connections,
          warmupSeconds,
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
  await makeFixtures(fixturesPath, work, distinctClients);
  const results = [];
  for (const comparison of comparisons) {
    console.log(`bench: ${comparison.name}`);
    results.push({ comparison, variants: await measure(comparison, fixturesPath) });
  }
  console.log('bench: memory with many distinct clients');
  const memoryServer = await startServer('peer-authz-100-stats', fixturesPath, ['--expose-gc']);
  let memory: MemoryResult;
  try {
    memory = await runJson<MemoryResult>('./memory-load.ts', [
      fixturesPath,
      String(memoryServer.port),
      '10',
      String(connections),
    ]);
  } finally {
    await memoryServer.stop();
  }
  console.log('bench: micro (policy decisions, sandbox opens)');
  const micro = {
    authz: await runJson<AuthzMicro>('../authz-decisions.ts', []),
    sandbox: await runJson<SandboxMicro>('../sandbox-open.ts', quick ? ['--quick'] : []),
  };
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
  writeFileSync(
    join(benchDir, 'results.json'),
    `${JSON.stringify({ environment, results, memory, micro }, null, 2)}\n`,
  );
  const readmePath = join(benchDir, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const generated = `<!-- results:start -->\n${Object.entries(environment)
    .map(([k, v]) => `${k}: ${v}`)
    .join(' · ')}\n\n${table(results)}\n\n${memoryTable(memory)}\n\n${microTable(micro)}\n<!-- results:end -->`;
  writeFileSync(readmePath, readme.replace(/<!-- results:start -->[\s\S]*<!-- results:end -->/, generated));
  console.log(table(results));
} finally {
  rmSync(work, { recursive: true, force: true });
}
