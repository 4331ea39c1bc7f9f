/**
 * A Koa service whose TLS identity comes from the SPIFFE Workload API (SPIRE): the SVID and its key stay in memory,
 * rotate without a restart, and each route names the SPIFFE IDs that may call it (the routes of spiffe-router.ts).
 *
 * Run next to a SPIRE agent: `SPIFFE_ENDPOINT_SOCKET=unix:///run/spire/sockets/agent.sock npx tsx
 * examples/spiffe-workload-api.ts` — https://localhost:8443 (or $PORT). See docs/spiffe.md for the deployment.
 */
import https from 'node:https';
import type Koa from 'koa';
import { type SpiffeMtls, type SpiffeMtlsOptions, spiffeMtls } from 'koa-mtls/spiffe';
import { createApp } from './spiffe-router.js';
import { runIfMain } from './support/local-pki.js';

/** Starts `app` on an https server that follows the Workload API; closing the server stops the stream. */
export async function serveFromWorkloadApi(
  app: Koa,
  options: SpiffeMtlsOptions = {},
): Promise<{ readonly server: https.Server; readonly spiffe: SpiffeMtls }> {
  const spiffe = await spiffeMtls(options);
  const server = https.createServer(spiffe.options, app.callback());
  spiffe.watch(server);
  server.on('close', () => spiffe.close());
  return { server, spiffe };
}

runIfMain(import.meta.url, async () => {
  const { server, spiffe } = await serveFromWorkloadApi(
    createApp((event) => console.log(event)),
    {
      onAudit: (event) => console.log(event),
    },
  );
  const port = Number(process.env.PORT ?? 8443);
  server.listen(port, () => console.log(`${spiffe.status().spiffeId} listening on https://localhost:${port}`));
  process.on('SIGTERM', () => server.close());
});
