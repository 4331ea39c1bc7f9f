/**
 * SPIFFE-based authorization per route with @koa/router: each route names the workloads that may call it.
 * `koa-mtls routes examples/spiffe-router.ts` prints which policy guards which route.
 *
 * Run: `npx tsx examples/spiffe-router.ts` — throwaway PKI, https://localhost:8443 (or $PORT), curl commands for an
 * allowed and a refused workload.
 */
import https from 'node:https';
import Router from '@koa/router';
import Koa from 'koa';
import { type AuditHook, mtlsOptions, peerCertificate, requirePeer } from 'koa-mtls';
import { createLocalPki, runIfMain } from './support/local-pki.js';

/** Routes: orders for the payments workload, reports for anyone in the production namespace. */
export function createRouter(onAudit?: AuditHook): Router {
  const audit = onAudit === undefined ? {} : { onAudit };
  const router = new Router({ prefix: '/api' });
  router.get('/orders', requirePeer({ spiffe: 'spiffe://example.org/ns/prod/sa/payments' }, audit), (ctx) => {
    ctx.body = { orders: [{ id: 1, total: 42 }] };
  });
  router.get('/reports', requirePeer({ spiffe: 'spiffe://example.org/ns/prod/sa/*' }, audit), (ctx) => {
    ctx.body = { reports: [], caller: ctx.state.peer?.spiffeId };
  });
  return router;
}

/** The app: identity for every request, then the router's per-route policies. */
export function createApp(onAudit?: AuditHook): Koa {
  const app = new Koa();
  app.use(peerCertificate(onAudit === undefined ? {} : { onAudit }));
  const router = createRouter(onAudit);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/** What `koa-mtls routes` loads. */
export const router = createRouter();

runIfMain(import.meta.url, async () => {
  const pki = await createLocalPki();
  const payments = await pki.client('payments', { san: { uri: ['spiffe://example.org/ns/prod/sa/payments'] } });
  const reporting = await pki.client('reporting', { san: { uri: ['spiffe://example.org/ns/prod/sa/reporting'] } });
  const port = Number(process.env.PORT ?? 8443);
  const server = https.createServer(mtlsOptions(pki.server), createApp((event) => console.log(event)).callback());
  server.listen(port, '127.0.0.1', () => {
    console.log(`listening on https://localhost:${port}`);
    console.log(`allowed: ${payments.curl} https://localhost:${port}/api/orders`);
    console.log(`refused: ${reporting.curl} https://localhost:${port}/api/orders`);
  });
});
