/**
 * What a sandboxed file route adds over a naive `fs.readFile` route, measured in-process: Koa contexts made by
 * `app.createContext` on detached request/response objects run the two handler chains with Koa's `koa-compose` in
 * interleaved rounds, each ending with the same kind of body (a Buffer of the whole file), so what the server then
 * writes is the same for both. Prints the CPU time (every thread's: the threadpool does the naive route's reads)
 * and wall time of each, the added CPU microseconds per request for a 1 KiB and a 1 MiB file and, given
 * the naive route's server CPU time per request (`--readfile-1k-us`, `--readfile-1m-us`, from the file benchmark),
 * the ratio it implies: readFile / (readFile + added).
 *
 * Run: npx tsx bench/file-cost.ts [--rounds 15] [--readfile-1k-us 140] [--readfile-1m-us 1700]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa, { type Context, type Middleware } from 'koa';
import compose from 'koa-compose';
import { createSandbox, sandboxPath } from '../src/sandbox/index.js';
import { summarize } from './harness/stats.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const rounds = argument('--rounds', 15);
const baseline: Record<string, number> = {
  'file-1k.bin': argument('--readfile-1k-us', Number.NaN),
  'file-1m.bin': argument('--readfile-1m-us', Number.NaN),
};
const iterations: Record<string, number> = { 'file-1k.bin': 20_000, 'file-1m.bin': 1_000 };

type Chain = (ctx: Context) => Promise<unknown>;

const root = mkdtempSync(join(tmpdir(), 'koa-mtls-file-cost-'));
writeFileSync(join(root, 'file-1k.bin'), Buffer.alloc(1024, 7));
writeFileSync(join(root, 'file-1m.bin'), Buffer.alloc(1024 * 1024, 7));
const sandbox = await createSandbox(root);
const app = new Koa();

const chains: Record<string, Chain> = {
  // The same handler as the benchmark's `file-readfile` variant: no guard at all.
  readfile: compose([
    async (ctx: Context) => {
      ctx.type = 'application/octet-stream';
      ctx.body = await readFile(join(root, ctx.path.slice(1)));
    },
  ] as Middleware[]) as Chain,
  // The benchmark's `file-sandbox-only` variant.
  sandbox: compose([
    sandboxPath({ sandbox, from: (ctx) => ctx.path.slice(1) }),
    async (ctx: Context) => {
      await ctx.state.sandboxed?.send();
    },
  ] as Middleware[]) as Chain,
};

function contextFor(name: string): Context {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = `/${name}`;
  return app.createContext(req, new ServerResponse(req)) as Context;
}

/**
 * Microseconds per request of `chain` on `name`: the process's CPU time (user + system, every thread: the
 * threadpool's reads count as the server's) and the wall time.
 */
async function measure(chain: Chain, name: string): Promise<{ cpu: number; wall: number }> {
  const count = iterations[name] as number;
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const ctx = contextFor(name);
    await chain(ctx);
    if (!Buffer.isBuffer(ctx.body)) throw new Error(`no Buffer body for ${name}`);
  }
  const wall = Number(process.hrtime.bigint() - started) / 1000 / count;
  const { user, system } = process.cpuUsage(cpuBefore);
  return { cpu: (user + system) / count, wall };
}

const results = [];
for (const name of Object.keys(iterations)) {
  const cpu: Record<string, number[]> = { readfile: [], sandbox: [] };
  const wall: Record<string, number[]> = { readfile: [], sandbox: [] };
  for (const chain of Object.keys(chains)) await measure(chains[chain] as Chain, name);
  for (let round = 0; round < rounds; round++) {
    // Alternate which runs first each round so drift spreads evenly.
    const order = round % 2 === 0 ? ['readfile', 'sandbox'] : ['sandbox', 'readfile'];
    for (const chain of order) {
      const sample = await measure(chains[chain] as Chain, name);
      cpu[chain]?.push(sample.cpu);
      wall[chain]?.push(sample.wall);
    }
  }
  // Per round, the sandboxed route minus the naive one of the same round: drift cancels.
  const added = summarize((cpu.sandbox as number[]).map((value, i) => value - (cpu.readfile?.[i] as number)));
  const bare = baseline[name] as number;
  const implied = (micros: number) => Number((bare / (bare + micros)).toFixed(4));
  const median = (values: number[] | undefined) => Number(summarize(values as number[]).median.toFixed(2));
  results.push({
    file: name,
    cpuMicros: { readFile: median(cpu.readfile), sandbox: median(cpu.sandbox) },
    wallMicros: { readFile: median(wall.readfile), sandbox: median(wall.sandbox) },
    addedCpuMicros: {
      median: Number(added.median.toFixed(2)),
      min: Number(added.min.toFixed(2)),
      max: Number(added.max.toFixed(2)),
    },
    ...(Number.isNaN(bare) ? {} : { impliedRatio: { median: implied(added.median), worst: implied(added.max) } }),
  });
}
await sandbox.close();
rmSync(root, { recursive: true, force: true });
console.log(JSON.stringify({ bench: 'file-cost', node: process.version, rounds, results }, null, 1));
