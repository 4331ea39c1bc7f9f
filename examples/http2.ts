/**
 * HTTP/2 with mutual TLS: the same options and middleware on `http2.createSecureServer` (with HTTP/1.1 fallback).
 * The peer is parsed once per HTTP/2 session, not once per stream.
 *
 * Run: `npx tsx examples/http2.ts` — https://localhost:8443 (or $PORT); the printed curl command uses --http2.
 */
import http2 from 'node:http2';
import Koa from 'koa';
import { type AuditHook, mtlsOptions, peerCertificate, requirePeer } from 'koa-mtls';
import { createLocalPki, runIfMain } from './support/local-pki.js';

/** The app: the caller's SPIFFE ID and the HTTP version it used. */
export function createApp(onAudit?: AuditHook): Koa {
  const audit = onAudit === undefined ? {} : { onAudit };
  const app = new Koa();
  app.use(peerCertificate(audit));
  app.use(requirePeer({ trustDomain: 'example.org' }, audit));
  app.use((ctx) => {
    ctx.body = { caller: ctx.state.peer?.spiffeId, httpVersion: ctx.req.httpVersion };
  });
  return app;
}

/** An HTTP/2 server (HTTP/1.1 allowed) with the strict options. */
export function createServer(files: Parameters<typeof mtlsOptions>[0], app: Koa): http2.Http2SecureServer {
  return http2.createSecureServer({ ...mtlsOptions(files), allowHTTP1: true }, app.callback());
}

runIfMain(import.meta.url, async () => {
  const pki = await createLocalPki();
  const client = await pki.client('client', { san: { uri: ['spiffe://example.org/ns/dev/sa/client'] } });
  const port = Number(process.env.PORT ?? 8443);
  createServer(pki.server, createApp()).listen(port, '127.0.0.1', () => {
    console.log(`200 over HTTP/2:\n${client.curl} --http2 https://localhost:${port}/`);
  });
});
