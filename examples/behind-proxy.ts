/**
 * A service behind an Envoy sidecar (or nginx): TLS ends at the proxy, which forwards the verified client
 * certificate in a header. The app reads it only from the proxy's address and re-verifies it against its own CA.
 *
 * Run: `npx tsx examples/behind-proxy.ts` — listens on plain http://127.0.0.1:8080 (or $PORT) as the upstream of a
 * proxy on the same host. Without a proxy, try a forged header: it is removed and reported, and the answer is 401.
 *   curl -H 'x-forwarded-client-cert: Cert="…"' http://127.0.0.1:8080/whoami
 */
import http from 'node:http';
import Koa from 'koa';
import { type AuditHook, peerCertificate, requirePeer } from 'koa-mtls';
import { createLocalPki, runIfMain } from './support/local-pki.js';

/** Options of {@link createApp}. */
export interface BehindProxyOptions {
  /** The CA that issues client certificates (PEM): forwarded certificates are re-verified against it. */
  readonly ca: string;
  /** Addresses of the proxy (CIDRs). Default: the loopback address of a sidecar. */
  readonly proxyAddresses?: readonly string[];
  readonly onAudit?: AuditHook;
}

/**
 * The app: identity from Envoy's XFCC header, only from the proxy, which is bound to that one header (behind nginx,
 * use `'nginx'` in both places); then a trust-domain policy.
 */
export function createApp(options: BehindProxyOptions): Koa {
  const audit = options.onAudit === undefined ? {} : { onAudit: options.onAudit };
  const app = new Koa();
  app.use(
    peerCertificate({
      sources: ['xfcc'],
      trustedProxies: { addresses: options.proxyAddresses ?? ['127.0.0.1/32', '::1/128'], source: 'xfcc' },
      verify: { ca: options.ca },
      ...audit,
    }),
  );
  app.use(requirePeer({ trustDomain: 'example.org' }, audit));
  app.use((ctx) => {
    ctx.body = { caller: ctx.state.peer?.spiffeId, verifiedBy: ctx.state.peer?.verifiedBy };
  });
  return app;
}

runIfMain(import.meta.url, async () => {
  const pki = await createLocalPki();
  const port = Number(process.env.PORT ?? 8080);
  const app = createApp({ ca: pki.ca.root, onAudit: (event) => console.log(event) });
  http.createServer(app.callback()).listen(port, '127.0.0.1', () => {
    console.log(`upstream for a proxy on http://127.0.0.1:${port}; trust anchors in ${pki.server.caFile}`);
  });
});
