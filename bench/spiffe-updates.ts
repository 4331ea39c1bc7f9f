/**
 * `npx tsx bench/spiffe-updates.ts`: what a Workload API update costs. Against the fake agent of the test suite (real
 * gRPC on a Unix socket): the time from the agent sending an SVID to the server's new context (validation, OpenSSL
 * dry run, setSecureContext), over many rotations, and whether memory stays flat across them. Also the import cost of
 * `koa-mtls/spiffe` (gRPC and protobufjs) in a fresh process, against `koa-mtls` alone.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:https';
import { spiffeMtls } from '../src/spiffe/index.js';
import { startFakeWorkloadApi } from '../test/spiffe/fake-workload-api.js';
import { serverSvid, trustDomain, x509SvidMessage } from '../test/spiffe/spiffe-pki.js';

const rotations = Number(process.argv[2] ?? 300);
const root = await trustDomain('example.org');
const partner = await trustDomain('partner.org');
// A pool of SVIDs made up front, so key generation is not measured
const svids = await Promise.all(Array.from({ length: 20 }, () => serverSvid(root)));
const agent = await startFakeWorkloadApi();
agent.setX509Svid(x509SvidMessage(svids[0] as never, root.root));

let applied = 0;
const spiffe = await spiffeMtls({ address: agent.address, onRotated: () => (applied += 1), onError: () => undefined });
const server = createServer(spiffe.options, () => undefined);
spiffe.watch(server);

const latencies: number[] = [];
const memory = (): number => {
  globalThis.gc?.();
  return process.memoryUsage().rss / 2 ** 20;
};
const rssBefore = memory();
for (let i = 1; i <= rotations; i += 1) {
  const svid = svids[i % svids.length] as never;
  const federated = i % 2 === 0 ? { 'partner.org': partner.root } : {};
  const started = process.hrtime.bigint();
  agent.setX509Svid(x509SvidMessage(svid, root.root, federated));
  while (applied < i) await new Promise((done) => setImmediate(done));
  latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
}
const rssAfter = memory();
spiffe.close();
agent.dispose();

latencies.sort((a, b) => a - b);
const at = (q: number) => (latencies[Math.floor(q * (latencies.length - 1))] as number).toFixed(2);
console.log(
  `${rotations} rotations (SVID and bundle alternating): agent send → new context p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`,
);
console.log(`RSS ${rssBefore.toFixed(0)} MB → ${rssAfter.toFixed(0)} MB${globalThis.gc ? ' (after gc)' : ''}`);

const importMs = (entry: string): number => {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(entry)});console.log(Number(process.hrtime.bigint()-t)/1e6)`;
  const runs = Array.from({ length: 5 }, () => Number(execFileSync(process.execPath, ['-e', script]).toString()));
  return runs.sort((a, b) => a - b)[2] as number;
};
try {
  console.log(
    `cold require (median of 5): koa-mtls ${importMs('./dist/index.cjs').toFixed(0)} ms, koa-mtls/spiffe ${importMs('./dist/spiffe.cjs').toFixed(0)} ms`,
  );
} catch {
  console.log('cold require: run `npm run build` first');
}
