/**
 * A minimal mTLS API: strict server options, the verified peer on `ctx.state.peer`, and one policy for every route.
 *
 * Run: `npx tsx examples/minimal-api.ts` — it makes a throwaway PKI, listens on https://localhost:8443 (or $PORT)
 * and prints a curl command that calls it with a client certificate.
 */
import https from 'node:https';
import Koa from 'koa';
import { type AuditHook, mtlsOptions, peerCertificate, requirePeer } from 'koa-mtls';
import { createLocalPki, runIfMain } from './support/local-pki.js';

/** The app: only clients in the `example.org` SPIFFE trust domain may call it. */
export function createApp(onAudit?: AuditHook): Koa {
  const audit = onAudit === undefined ? {} : { onAudit };
  const app = new Koa();
  app.use(peerCertificate(audit));
  app.use(requirePeer({ trustDomain: 'example.org' }, audit));
  app.use((ctx) => {
    ctx.body = { hello: ctx.state.peer?.spiffeId };
  });
  return app;
}

runIfMain(import.meta.url, async () => {
  const pki = await createLocalPki();
  const client = await pki.client('client', { san: { uri: ['spiffe://example.org/ns/dev/sa/client'] } });
  const port = Number(process.env.PORT ?? 8443);
  const server = https.createServer(mtlsOptions(pki.server), createApp((event) => console.log(event)).callback());
  server.listen(port, '127.0.0.1', () => {
    console.log(
      `listening on https://localhost:${port}\n200 (a client of the trust domain):\n${client.curl} https://localhost:${port}/`,
    );
  });
});
