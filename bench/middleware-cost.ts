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
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Context, Middleware } from 'koa';
import compose from 'koa-compose';
import { requirePeer } from '../src/authz/index.js';
import { peerCertificate } from '../src/identity/index.js';
import { createCertificateAuthority } from '../src/pki/index.js';
import { mtlsOptions } from '../src/tls/index.js';
import { hundredRulePolicy } from './harness/policy.js';
import { summarize } from './harness/stats.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const bareMicros = argument('--bare-us', Number.NaN);
const rounds = argument('--rounds', 15);
const iterations = 200_000;

/** A verified server-side TLS socket, from one real request on loopback. */
async function verifiedSocket(): Promise<{ socket: TLSSocket; close: () => void }> {
  const ca = await createCertificateAuthority({ subject: 'CN=bench root' });
  const server = await ca.issueServer();
  const client = await ca.issueClient({
    subject: 'CN=client-0,OU=prod,O=koa-mtls bench',
    san: { uri: ['spiffe://bench.test/ns/prod/sa/client-0'] },
  });
  let captured: TLSSocket | undefined;
  const instance = createServer(
    mtlsOptions({ key: server.key, cert: server.chain, ca: ca.root, onWarning: () => {} }),
    (req, res) => {
      captured = req.socket as TLSSocket;
      res.end('ok');
    },
  );
  await new Promise<void>((resolve) => instance.listen(0, '127.0.0.1', resolve));
  const { port } = instance.address() as AddressInfo;
  const agent = new (await import('node:https')).Agent({ keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, servername: 'localhost', ca: ca.root, cert: client.chain, key: client.key, agent },
      (res) => res.resume().on('end', resolve),
    );
    req.on('error', reject);
    req.end();
  });
  if (captured === undefined || captured.authorized !== true) throw new Error('no verified socket');
  return {
    socket: captured,
    close: () => {
      agent.destroy();
      instance.close();
    },
  };
}

const { socket, close } = await verifiedSocket();
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
close();

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
