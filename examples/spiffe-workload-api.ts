/**
 * A Koa service whose TLS identity comes from the SPIFFE Workload API (SPIRE): the SVID and its key stay in memory,
 * rotate without a restart, and each route names the SPIFFE IDs that may call it (the routes of spiffe-router.ts),
 * each ID believed only under its own trust domain's bundle.
 *
 * Run next to a SPIRE agent: `SPIFFE_ENDPOINT_SOCKET=unix:///run/spire/sockets/agent.sock npx tsx
 * examples/spiffe-workload-api.ts` — https://localhost:8443 (or $PORT). See docs/spiffe.md for the deployment.
 */
import https from 'node:https';
import Koa from 'koa';
import { type AuditHook, peerCertificate, type Trust } from 'koa-mtls';
import { type SpiffeMtls, type SpiffeMtlsOptions, spiffeMtls } from 'koa-mtls/spiffe';
import { createRouter } from './spiffe-router.js';
import { runIfMain } from './support/local-pki.js';

/** The app: identity verified against the Workload API's trust, then the router's per-route policies. */
export function createApp(trust: Trust, onAudit?: AuditHook): Koa {
  const app = new Koa();
  app.use(peerCertificate({ trust, ...(onAudit === undefined ? {} : { onAudit }) }));
  const router = createRouter(onAudit);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/** Starts the app on an https server that follows the Workload API; closing the server stops the stream. */
export async function serveFromWorkloadApi(
  options: SpiffeMtlsOptions = {},
  onAudit?: AuditHook,
): Promise<{ readonly server: https.Server; readonly spiffe: SpiffeMtls }> {
  const spiffe = await spiffeMtls(options);
  const server = https.createServer(spiffe.options, createApp(spiffe.trust, onAudit).callback());
  spiffe.watch(server);
  server.on('close', () => spiffe.close());
  return { server, spiffe };
}

runIfMain(import.meta.url, async () => {
  const log: AuditHook = (event) => console.log(event);
  const { server, spiffe } = await serveFromWorkloadApi({ onAudit: log }, log);
  const port = Number(process.env.PORT ?? 8443);
  server.listen(port, () => console.log(`${spiffe.status().spiffeId} listening on https://localhost:${port}`));
  process.on('SIGTERM', () => server.close());
});
