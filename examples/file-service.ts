/**
 * A sandboxed file download and upload service: request-named files stay inside one root, through `..`, encodings,
 * symlinks and races, and only workloads of the trust domain may call it.
 *
 * Run: `npx tsx examples/file-service.ts` — throwaway PKI and file root, https://localhost:8443 (or $PORT), and curl
 * commands for a download, an upload, and a traversal attempt that is refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Router from '@koa/router';
import Koa from 'koa';
import {
  type AuditHook,
  createSandbox,
  mtlsOptions,
  peerCertificate,
  requirePeer,
  type Sandbox,
  sandboxPath,
} from 'koa-mtls';
import { createLocalPki, removeOnExit, runIfMain } from './support/local-pki.js';

/** Largest upload accepted, in bytes. */
const maxUploadBytes = 1 << 20;

/** Routes: `GET /files/:name` streams a file from the sandbox, `PUT /files/:name` creates one (never overwrites). */
export function createFileRouter(sandbox: Sandbox, onAudit?: AuditHook): Router {
  const audit = onAudit === undefined ? {} : { onAudit };
  const router = new Router();
  const guard = requirePeer({ trustDomain: 'example.org' }, audit);
  const file = sandboxPath({ sandbox, from: (ctx) => ctx.params.name, ...audit });
  router.get('/files/:name', guard, file, async (ctx) => {
    await ctx.state.sandboxed?.send();
  });
  router.put('/files/:name', guard, file, async (ctx) => {
    if (Number(ctx.get('content-length') || Number.NaN) > maxUploadBytes) ctx.throw(413);
    // 'wx': exclusive create, so an upload never replaces (or writes through) an existing file
    const handle = await ctx.state.sandboxed?.open('wx');
    if (handle === undefined) return;
    await pipeline(ctx.req, handle.createWriteStream());
    ctx.status = 201;
  });
  return router;
}

/** The app over a sandbox rooted at `root`. */
export async function createFileService(root: string, onAudit?: AuditHook): Promise<{ app: Koa; sandbox: Sandbox }> {
  const sandbox = await createSandbox(root, onAudit === undefined ? {} : { onAudit });
  const app = new Koa();
  app.use(peerCertificate(onAudit === undefined ? {} : { onAudit }));
  app.use(createFileRouter(sandbox, onAudit).routes());
  return { app, sandbox };
}

runIfMain(import.meta.url, async () => {
  const pki = await createLocalPki();
  const root = removeOnExit(mkdtempSync(join(tmpdir(), 'koa-mtls-files-')));
  writeFileSync(join(root, 'report.txt'), 'quarterly numbers\n');
  const client = await pki.client('client', { san: { uri: ['spiffe://example.org/ns/dev/sa/client'] } });
  const { app } = await createFileService(root, (event) => console.log(event));
  const port = Number(process.env.PORT ?? 8443);
  https.createServer(mtlsOptions(pki.server), app.callback()).listen(port, '127.0.0.1', () => {
    const base = `https://localhost:${port}`;
    console.log(`serving ${root} on ${base}`);
    console.log(`download:  ${client.curl} ${base}/files/report.txt`);
    console.log(`upload:    ${client.curl} -T /etc/hostname ${base}/files/hostname.txt`);
    console.log(`traversal: ${client.curl} ${base}/files/..%2f..%2fetc%2fpasswd   (400)`);
  });
});
