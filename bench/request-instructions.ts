/**
 * Instructions the **server** spends per request, by variant, counted with callgrind (see harness/instructions.ts):
 * the server runs under valgrind and exits after N requests; a client in a normal process sends them, one at a time
 * (keep-alive, or a new TLS connection per request). (Ir(high) − Ir(low)) / (high − low) is one request's cost, free
 * of start-up, TLS context creation and JIT warm-up. Kernel work (socket reads and writes) is not counted, so the
 * baseline is understated and a variant's ratio is conservative. Prints JSON.
 *
 * Run: npx tsx bench/request-instructions.ts [--only keep-alive,file,new-connection]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchFixtures, makeFixtures, readClients } from './harness/fixtures.js';
import { bundle, callgrindAvailable } from './harness/instructions.js';

interface Case {
  readonly section: string;
  readonly name: string;
  readonly path: string;
  readonly connection: 'keep-alive' | 'new';
  readonly baseline: string;
  readonly variants: readonly string[];
  readonly low: number;
  readonly high: number;
}

const cases: readonly Case[] = [
  {
    section: 'keep-alive',
    name: 'keep-alive JSON route',
    path: '/',
    connection: 'keep-alive',
    baseline: 'bare',
    variants: ['peer', 'peer-authz-100'],
    low: 500,
    high: 1500,
  },
  {
    section: 'file',
    name: 'keep-alive 1 KiB file',
    path: '/file-1k.bin',
    connection: 'keep-alive',
    baseline: 'file-readfile',
    variants: ['file-sandbox-only', 'file-sandbox-open-stream'],
    low: 500,
    high: 1500,
  },
  {
    section: 'file',
    name: 'keep-alive 1 MiB file',
    path: '/file-1m.bin',
    connection: 'keep-alive',
    baseline: 'file-readfile',
    variants: ['file-sandbox-only', 'file-sandbox-open-stream'],
    low: 50,
    high: 150,
  },
  {
    section: 'new-connection',
    name: 'new connection per request (200 distinct client certificates, cycled)',
    path: '/',
    connection: 'new',
    baseline: 'bare',
    variants: ['peer-authz-100', 'peer-trust-authz-100', 'peer-authz-100-first-seen'],
    low: 200,
    high: 600,
  },
];

const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex === -1 ? undefined : new Set((process.argv[onlyIndex + 1] ?? '').split(','));

/** A client certificate by index, cycling through the fixtures' distinct ones (read once). */
let clients: ReturnType<typeof readClients> | undefined;
function credentialsFor(fixtures: BenchFixtures, client: number) {
  clients ??= readClients(fixtures);
  return clients[client % clients.length] ?? fixtures.client;
}

function get(fixtures: BenchFixtures, port: number, path: string, agent: Agent | false, client: number): Promise<void> {
  const credentials = credentialsFor(fixtures, client);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'localhost',
        ca: fixtures.ca,
        cert: credentials.cert,
        key: credentials.key,
        agent,
      },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode} for ${path}`));
        res.on('data', () => {});
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Instructions the server executed while answering `requests` requests of `item`. */
async function serverInstructions(
  serverFile: string,
  fixturesPath: string,
  fixtures: BenchFixtures,
  variant: string,
  item: Case,
  requests: number,
): Promise<number> {
  const directory = mkdtempSync(join(tmpdir(), 'koa-mtls-callgrind-'));
  const out = join(directory, 'callgrind.out');
  try {
    const args = ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--predictable', serverFile];
    const child = spawn('valgrind', [...args, variant, fixturesPath, '--exit-after', String(requests)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    let stdout = '';
    for await (const chunk of child.stdout) {
      stdout += chunk.toString();
      if (stdout.includes('\n')) break;
    }
    const port = (JSON.parse(stdout.split('\n')[0] as string) as { port: number }).port;
    let agent = item.connection === 'keep-alive' ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
    for (let i = 0; i < requests; i++) {
      try {
        await get(fixtures, port, item.path, agent, i);
      } catch (error) {
        // A reset under valgrind's slowness (seen rarely on keep-alive): once more on a fresh connection. The lost
        // request was not counted as served unless its response was written, so the total stays exact or +1.
        console.error(`request-instructions: ${variant} request ${i}: ${(error as Error).message}, retried`);
        if (agent !== false) {
          agent.destroy();
          agent = new Agent({ keepAlive: true, maxSockets: 1 });
        }
        await get(fixtures, port, item.path, agent, i);
      }
    }
    if (agent !== false) agent.destroy();
    const [code] = (await exited) as [number | null];
    if (code !== 0) throw new Error(`server under callgrind exited with ${code}`);
    const totals = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, 'utf8'));
    if (totals === null) throw new Error('no instruction total in the callgrind output');
    return Number(totals[1]);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

if (!callgrindAvailable()) {
  console.log(JSON.stringify({ bench: 'request-instructions', skipped: 'valgrind not installed' }));
} else {
  const work = mkdtempSync(join(tmpdir(), 'koa-mtls-bench-'));
  const server = bundle('bench/harness/server.ts');
  try {
    writeFileSync(join(work, 'file-1k.bin'), Buffer.alloc(1024, 7));
    writeFileSync(join(work, 'file-1m.bin'), Buffer.alloc(1024 * 1024, 7));
    const fixturesPath = join(work, 'fixtures.json');
    const fixtures = await makeFixtures(fixturesPath, work, 200);
    const results = [];
    for (const item of cases.filter((c) => only === undefined || only.has(c.section))) {
      const perRequest: Record<string, number> = {};
      for (const variant of [item.baseline, ...item.variants]) {
        const low = await serverInstructions(server.file, fixturesPath, fixtures, variant, item, item.low);
        const high = await serverInstructions(server.file, fixturesPath, fixtures, variant, item, item.high);
        perRequest[variant] = Math.round((high - low) / (item.high - item.low));
        console.error(`request-instructions: ${item.name} · ${variant}: ${perRequest[variant]}`);
      }
      const base = perRequest[item.baseline] as number;
      results.push({
        name: item.name,
        baseline: item.baseline,
        instructionsPerRequest: perRequest,
        // Comparable to a throughput ratio: baseline cost / variant cost.
        ratio: Object.fromEntries(item.variants.map((v) => [v, Number((base / (perRequest[v] as number)).toFixed(3))])),
      });
    }
    console.log(JSON.stringify({ bench: 'request-instructions', node: process.version, results }, null, 1));
  } finally {
    server.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}
