/**
 * What koa-mtls adds to a keep-alive request, measured in-process where the noise of a loaded machine cannot hide
 * it: one real mTLS request gives a verified server-side socket, then Koa's own `koa-compose` runs the middleware
 * chains on contexts bound to that socket (the keep-alive path: the connection's peer is already known) in
 * interleaved rounds. Prints the added nanoseconds per request of `peerCertificate()` and of `peerCertificate()` +
 * a 100-rule `requirePeer`, and, given the bare request's server CPU time (`--bare-us`, from the keep-alive
 * benchmark), the throughput ratio it implies: bare / (bare + added).
 *
 * Each chain is measured twice: **hot**, requests back to back (code and data stay in the CPU caches), and **cold**,
 * with 8 MiB of memory touched before each request, timed alone. A real server runs TLS, HTTP parsing and Koa for
 * every other connection between two requests of one connection, so its caches are closer to cold: the hot figure is
 * the floor of what a request adds, the cold one closer to what a server pays.
 *
 * Run: npx tsx bench/middleware-cost.ts [--bare-us 29.8] [--rounds 15]
 */
import type { TLSSocket } from 'node:tls';
import type { Context, Middleware } from 'koa';
import compose from 'koa-compose';
import { requirePeer } from '../src/authz/index.js';
import { peerCertificate } from '../src/identity/index.js';
import { createCertificateAuthority } from '../src/pki/index.js';
import { hundredRulePolicy } from './harness/policy.js';
import { summarize } from './harness/stats.js';
import { verifiedSockets } from './harness/verified-sockets.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const bareMicros = argument('--bare-us', Number.NaN);
const rounds = argument('--rounds', 15);
const iterations = 200_000;
const coldIterations = 4_000;
/** Larger than this machine's L2 and a good part of its L3: touching it evicts the caches between two requests. */
const eviction = new Uint8Array(8 * 2 ** 20);

const ca = await createCertificateAuthority({ subject: 'CN=bench root' });
const client = await ca.issueClient({
  subject: 'CN=client-0,OU=prod,O=koa-mtls bench',
  san: { uri: ['spiffe://bench.test/ns/prod/sa/client-0'] },
});
const opened = await verifiedSockets(ca, [client]);
const socket = opened.sets[0]?.[0] as TLSSocket;
const handler: Middleware = (ctx) => {
  ctx.body = 'ok';
};
const chains: Record<string, (ctx: Context) => Promise<unknown>> = {
  bare: compose([handler]) as (ctx: Context) => Promise<unknown>,
  peer: compose([peerCertificate(), handler]) as (ctx: Context) => Promise<unknown>,
  'peer-authz-100': compose([peerCertificate(), requirePeer(hundredRulePolicy()), handler]) as (
    ctx: Context,
  ) => Promise<unknown>,
};

/** Nanoseconds per request of `chain`, over `iterations` sequential requests. */
async function measure(chain: (ctx: Context) => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const ctx = { state: {}, req: { socket, headers: {} }, method: 'GET', path: '/', body: undefined };
    await chain(ctx as unknown as Context);
  }
  return Number(process.hrtime.bigint() - started) / iterations;
}

function evictCaches(): void {
  for (let i = 0; i < eviction.length; i += 64) eviction[i] = (eviction[i] as number) + 1;
}

/** Nanoseconds per request of `chain` when the caches were evicted before each request (only the request is timed). */
async function measureCold(chain: (ctx: Context) => Promise<unknown>): Promise<number> {
  let total = 0n;
  for (let i = 0; i < coldIterations; i++) {
    const ctx = { state: {}, req: { socket, headers: {} }, method: 'GET', path: '/', body: undefined };
    evictCaches();
    const started = process.hrtime.bigint();
    await chain(ctx as unknown as Context);
    total += process.hrtime.bigint() - started;
  }
  return Number(total) / coldIterations;
}

const samples: Record<string, number[]> = { bare: [], peer: [], 'peer-authz-100': [] };
const coldSamples: Record<string, number[]> = { bare: [], peer: [], 'peer-authz-100': [] };
for (const name of Object.keys(chains)) await measure(chains[name] as (ctx: Context) => Promise<unknown>);
for (let round = 0; round < rounds; round++) {
  const order = Object.keys(chains);
  // Rotate the order each round so drift (frequency, other load) spreads evenly.
  for (let k = 0; k < order.length; k++) {
    const name = order[(k + round) % order.length] as string;
    const chain = chains[name] as (ctx: Context) => Promise<unknown>;
    samples[name]?.push(await measure(chain));
    coldSamples[name]?.push(await measureCold(chain));
  }
}
opened.close();

/** Per round, the variant minus the bare chain of the same round (drift cancels), and the ratio it implies. */
function added(of: Record<string, number[]>, name: string) {
  const spread = summarize((of[name] as number[]).map((value, i) => value - (of.bare?.[i] as number)));
  return {
    nanos: { median: Math.round(spread.median), min: Math.round(spread.min), max: Math.round(spread.max) },
    implied: Number.isNaN(bareMicros)
      ? undefined
      : {
          median: Number((bareMicros / (bareMicros + spread.median / 1000)).toFixed(4)),
          worst: Number((bareMicros / (bareMicros + spread.max / 1000)).toFixed(4)),
        },
  };
}

const bare = summarize(samples.bare as number[]);
const results = ['peer', 'peer-authz-100'].map((name) => {
  const hot = added(samples, name);
  const cold = added(coldSamples, name);
  return {
    variant: name,
    addedNanosPerRequest: hot.nanos,
    coldAddedNanosPerRequest: cold.nanos,
    ...(hot.implied === undefined ? {} : { impliedKeepAliveRatio: hot.implied }),
    ...(cold.implied === undefined ? {} : { coldImpliedKeepAliveRatio: cold.implied }),
  };
});
console.log(
  JSON.stringify(
    {
      bench: 'middleware-cost',
      node: process.version,
      iterations,
      rounds,
      bareChainNanos: Math.round(bare.median),
      coldBareChainNanos: Math.round(summarize(coldSamples.bare as number[]).median),
      results,
    },
    null,
    1,
  ),
);
