/**
 * The benchmarked Koa apps. Every variant runs behind the same TLS server options and answers the same small JSON
 * body (or the same 1 KiB file), so the ratio between two variants is the cost of what differs.
 */
import { readFile } from 'node:fs/promises';
import module from 'node:module';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import Koa from 'koa';
import koaConnect from 'koa-connect';
import { requirePeer } from '../../src/authz/index.js';
import { peerCertificate } from '../../src/identity/index.js';
import { createSandbox, sandboxPath } from '../../src/sandbox/index.js';
import { createTrust } from '../../src/trust/index.js';
import type { BenchFixtures } from './fixtures.js';
import { hundredRulePolicy, scaledPolicy } from './policy.js';

const body = { ok: true, service: 'bench' };

function jsonApp(...middleware: Koa.Middleware[]): Koa {
  const app = new Koa();
  for (const m of middleware) app.use(m);
  app.use((ctx) => {
    ctx.body = body;
  });
  return app;
}

const passThrough: Koa.Middleware = (_ctx, next) => next();

/** The hand-written check the Node peers do: `getPeerCertificate()` on every request, then a string compare. */
const getPeerCertificateCheck: Koa.Middleware = async (ctx, next) => {
  const socket = ctx.req.socket as TLSSocket;
  const cert = socket.getPeerCertificate();
  if (!socket.authorized || !cert.subject || !String(cert.subject.OU).includes('prod')) ctx.throw(403);
  await next();
};

/** client-certificate-auth (Connect middleware) through koa-connect, with the Express bits it expects shimmed. */
function clientCertificateAuthMiddleware(): Koa.Middleware[] {
  const require = createRequireFromHere();
  const clientCertificateAuth = require('client-certificate-auth') as (
    check: (cert: { subject: { OU?: string } }) => boolean,
  ) => Parameters<typeof koaConnect>[0];
  const expressShim: Koa.Middleware = async (ctx, next) => {
    Object.assign(ctx.req, { secure: true, header: (name: string) => ctx.get(name) });
    await next();
  };
  return [expressShim, koaConnect(clientCertificateAuth((cert) => String(cert.subject.OU).includes('prod')))];
}

function createRequireFromHere(): NodeJS.Require {
  return module.createRequire(import.meta.url);
}

/** Serves `/<name>` from the fixtures' file root through `sandboxPath`, after `guards`, with `send()`. */
async function sandboxedFileApp(fixtures: BenchFixtures, ...guards: Koa.Middleware[]): Promise<Koa> {
  const sandbox = await createSandbox(fixtures.fileRoot);
  const app = new Koa();
  for (const guard of guards) app.use(guard);
  app.use(sandboxPath({ sandbox, from: (ctx) => ctx.path.slice(1) }));
  app.use(async (ctx) => {
    await ctx.state.sandboxed?.send();
  });
  return app;
}

/** The same through `open()` and a default read stream, as a handler would write it by hand. */
async function sandboxedStreamApp(fixtures: BenchFixtures): Promise<Koa> {
  const sandbox = await createSandbox(fixtures.fileRoot);
  const app = new Koa();
  app.use(sandboxPath({ sandbox, from: (ctx) => ctx.path.slice(1) }));
  app.use(async (ctx) => {
    const handle = await ctx.state.sandboxed?.open();
    ctx.type = 'application/octet-stream';
    ctx.body = handle?.createReadStream();
  });
  return app;
}

/** Variant name → app factory. */
export const variants: Readonly<Record<string, (fixtures: BenchFixtures) => Koa | Promise<Koa>>> = {
  bare: () => jsonApp(),
  // Two middlewares that only call next(): what any two Koa middlewares cost, before they do anything.
  'empty-2': () => jsonApp(passThrough, passThrough),
  peer: () => jsonApp(peerCertificate()),
  'peer-authz-100': () => jsonApp(peerCertificate(), requirePeer(hundredRulePolicy())),
  // A new connection from a certificate seen before costs a cache lookup; without a cache, every one is first-seen.
  'peer-authz-100-first-seen': () => jsonApp(peerCertificate({ cacheSize: 0 }), requirePeer(hundredRulePolicy())),
  'peer-trust-authz-100': (fixtures) =>
    jsonApp(peerCertificate({ trust: createTrust({ ca: fixtures.ca }) }), requirePeer(hundredRulePolicy())),
  'file-sandbox': (fixtures) => sandboxedFileApp(fixtures, peerCertificate(), requirePeer(hundredRulePolicy())),
  'file-sandbox-only': (fixtures) => sandboxedFileApp(fixtures),
  'file-sandbox-open-stream': (fixtures) => sandboxedStreamApp(fixtures),
  'peer-getpeercertificate': () => jsonApp(getPeerCertificateCheck),
  'peer-client-certificate-auth': () => jsonApp(...clientCertificateAuthMiddleware()),
  'file-readfile': (fixtures) => {
    const app = new Koa();
    app.use(async (ctx) => {
      ctx.type = 'application/octet-stream';
      // Naive: the request path joined to the root, no guard at all (what the sandbox is compared against).
      ctx.body = await readFile(join(fixtures.fileRoot, ctx.path.slice(1)));
    });
    return app;
  },
};

/**
 * A variant by name: one of {@link variants}, `peer-authz-rules-<n>` (identity + an n-rule {@link scaledPolicy}) or
 * `peer-authz-100-cache-<n>` (identity with a `cacheSize` of n + the 100-rule policy).
 */
export function variantByName(name: string): ((fixtures: BenchFixtures) => Koa | Promise<Koa>) | undefined {
  const scaled = /^peer-authz-rules-(\d+)$/.exec(name);
  if (scaled !== null) return () => jsonApp(peerCertificate(), requirePeer(scaledPolicy(Number(scaled[1]))));
  const cached = /^peer-authz-100-cache-(\d+)$/.exec(name);
  if (cached !== null) {
    return () => jsonApp(peerCertificate({ cacheSize: Number(cached[1]) }), requirePeer(hundredRulePolicy()));
  }
  return variants[name];
}
