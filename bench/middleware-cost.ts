/**
 * What koa-mtls adds to a keep-alive request, measured in-process where the noise of a loaded machine cannot hide
 * it: one real mTLS request gives a verified server-side socket, then Koa's own `koa-compose` runs the middleware
 * chains on contexts bound to that socket (the keep-alive path: the connection's peer is already known) in
 * interleaved rounds. Prints the added nanoseconds per request of `peerCertificate()` and of `peerCertificate()` +
 * a 100-rule `requirePeer`, and, given the bare request's server CPU time (`--bare-us`, from the keep-alive
 * benchmark), the throughput ratio it implies: bare / (bare + added).
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

const samples: Record<string, number[]> = { bare: [], peer: [], 'peer-authz-100': [] };
for (const name of Object.keys(chains)) await measure(chains[name] as (ctx: Context) => Promise<unknown>);
for (let round = 0; round < rounds; round++) {
  const order = Object.keys(chains);
  // Rotate the order each round so drift (frequency, other load) spreads evenly.
  for (let k = 0; k < order.length; k++) {
    const name = order[(k + round) % order.length] as string;
    samples[name]?.push(await measure(chains[name] as (ctx: Context) => Promise<unknown>));
  }
}
opened.close();

const bare = summarize(samples.bare as number[]);
const results = ['peer', 'peer-authz-100'].map((name) => {
  // Per round, the variant minus the bare chain of the same round: drift cancels.
  const added = summarize((samples[name] as number[]).map((value, i) => value - (samples.bare?.[i] as number)));
  return {
    variant: name,
    addedNanosPerRequest: { median: Math.round(added.median), min: Math.round(added.min), max: Math.round(added.max) },
    ...(Number.isNaN(bareMicros)
      ? {}
      : {
          impliedKeepAliveRatio: {
            median: Number((bareMicros / (bareMicros + added.median / 1000)).toFixed(4)),
            worst: Number((bareMicros / (bareMicros + added.max / 1000)).toFixed(4)),
          },
        }),
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
      results,
    },
    null,
    1,
  ),
);
