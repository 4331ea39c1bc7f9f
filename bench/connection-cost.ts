/**
 * What koa-mtls adds to the first request of a new connection, measured in-process: real mTLS connections on
 * loopback, each from its own client certificate, give verified server-side sockets; then Koa's `koa-compose` runs
 * the middleware chains on contexts bound to those sockets, each socket seen for the first time by a fresh
 * middleware instance (what a new connection costs). Two cases:
 *
 * - **known certificate**: the middleware has verified the same certificates before, on other connections (a warm
 *   identity cache): the cost of `getPeerCertificate(false)` and a lookup;
 * - **first-seen certificate**: an empty cache: reading the chain, verifying it, parsing, building the identity and
 *   the first policy decision.
 *
 * Prints the added microseconds per new connection and, given the bare new-connection request's server CPU time
 * (`--bare-us`, from the new-connection benchmark), the ratio it implies: bare / (bare + added).
 *
 * Run: npx tsx bench/connection-cost.ts [--connections 300] [--rounds 9] [--bare-us 2200]
 */
import type { TLSSocket } from 'node:tls';
import type { Context, Middleware } from 'koa';
import compose from 'koa-compose';
import { requirePeer } from '../src/authz/index.js';
import { peerCertificate } from '../src/identity/index.js';
import { createCertificateAuthority } from '../src/pki/index.js';
import { createTrust } from '../src/trust/index.js';
import { hundredRulePolicy } from './harness/policy.js';
import { summarize } from './harness/stats.js';
import { verifiedSockets } from './harness/verified-sockets.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const connections = argument('--connections', 300);
const rounds = argument('--rounds', 9);
const bareMicros = argument('--bare-us', Number.NaN);

type Chain = (ctx: Context) => Promise<unknown>;

const ca = await createCertificateAuthority({ subject: 'CN=bench root,O=koa-mtls bench' });
const clients = await Promise.all(
  Array.from({ length: connections }, (_, i) =>
    ca.issueClient({
      subject: `CN=client-${i},OU=prod,O=koa-mtls bench`,
      san: { uri: [`spiffe://bench.test/ns/prod/sa/client-${i}`], dns: [`client-${i}.prod.bench.test`] },
    }),
  ),
);
// Two connections per certificate: the first set warms a cache, the second is measured as new connections.
const opened = await verifiedSockets(ca, clients, 2);
const [warmSockets, measuredSockets] = opened.sets as [readonly TLSSocket[], readonly TLSSocket[]];

const handler: Middleware = (ctx) => {
  ctx.body = 'ok';
};
const trust = createTrust({ ca: ca.root });

/** A fresh chain per round: a fresh middleware has never seen a socket (or, with `cacheSize: 0`, a certificate). */
const chainFactories: Record<string, () => Chain> = {
  bare: () => compose([handler]) as Chain,
  'peer-authz-100': () => compose([peerCertificate(), requirePeer(hundredRulePolicy()), handler]) as Chain,
  'peer-trust-authz-100': () =>
    compose([peerCertificate({ trust }), requirePeer(hundredRulePolicy()), handler]) as Chain,
};

function contextOf(socket: TLSSocket): Context {
  return { state: {}, req: { socket, headers: {} }, method: 'GET', path: '/', body: undefined } as unknown as Context;
}

async function run(chain: Chain, sockets: readonly TLSSocket[]): Promise<void> {
  for (const socket of sockets) {
    const ctx = contextOf(socket);
    await chain(ctx);
    if (ctx.body !== 'ok') throw new Error(`denied: ${String(ctx.status)}`);
  }
}

/** Microseconds per new connection: known (cache warmed on other sockets) and first-seen (fresh instance). */
async function measure(name: string): Promise<{ known: number; firstSeen: number }> {
  const factory = chainFactories[name] as () => Chain;
  const cold = factory();
  let started = process.hrtime.bigint();
  await run(cold, warmSockets);
  const firstSeen = Number(process.hrtime.bigint() - started) / 1000 / warmSockets.length;
  started = process.hrtime.bigint();
  await run(cold, measuredSockets);
  const known = Number(process.hrtime.bigint() - started) / 1000 / measuredSockets.length;
  return { known, firstSeen };
}

const names = Object.keys(chainFactories);
const samples: Record<string, { known: number[]; firstSeen: number[] }> = Object.fromEntries(
  names.map((n) => [n, { known: [], firstSeen: [] }]),
);
for (const name of names) await measure(name);
for (let round = 0; round < rounds; round++) {
  // Rotate the order each round so drift (frequency, other load) spreads evenly.
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + round) % names.length] as string;
    const { known, firstSeen } = await measure(name);
    samples[name]?.known.push(known);
    samples[name]?.firstSeen.push(firstSeen);
  }
}
opened.close();

const bare = samples.bare as { known: number[]; firstSeen: number[] };
const round2 = (value: number) => Number(value.toFixed(2));
const implied = (added: number) => Number((bareMicros / (bareMicros + added)).toFixed(4));
const results = names
  .filter((name) => name !== 'bare')
  .map((name) => {
    const s = samples[name] as { known: number[]; firstSeen: number[] };
    // Per round, the variant minus the bare chain of the same round: drift cancels.
    const known = summarize(s.known.map((value, i) => value - (bare.known[i] as number)));
    const firstSeen = summarize(s.firstSeen.map((value, i) => value - (bare.firstSeen[i] as number)));
    return {
      variant: name,
      addedMicrosKnown: { median: round2(known.median), min: round2(known.min), max: round2(known.max) },
      addedMicrosFirstSeen: {
        median: round2(firstSeen.median),
        min: round2(firstSeen.min),
        max: round2(firstSeen.max),
      },
      ...(Number.isNaN(bareMicros)
        ? {}
        : {
            impliedRatioKnown: { median: implied(known.median), worst: implied(known.max) },
            impliedRatioFirstSeen: { median: implied(firstSeen.median), worst: implied(firstSeen.max) },
          }),
    };
  });
console.log(
  JSON.stringify(
    {
      bench: 'connection-cost',
      node: process.version,
      connections,
      rounds,
      bareChainMicros: round2(summarize(bare.known).median),
      results,
    },
    null,
    1,
  ),
);
