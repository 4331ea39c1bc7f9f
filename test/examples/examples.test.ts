/**
 * Smoke tests of the runnable examples: each one's app, driven over real TLS (or through its proxy header) with
 * certificates made here. The examples are what newcomers copy, so they must keep working.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { mtlsOptions } from 'koa-mtls';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from 'koa-mtls/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp as createProxiedApp } from '../../examples/behind-proxy.js';
import { createFileService } from '../../examples/file-service.js';
import { createApp as createHttp2App, createServer as createHttp2Server } from '../../examples/http2.js';
import { createApp as createMinimalApp } from '../../examples/minimal-api.js';
import { secretFiles, serveWithRotation, writeSecretVolume } from '../../examples/rotation.js';
import { createApp as createSpiffeApp } from '../../examples/spiffe-router.js';
import { httpsRequest } from '../helpers/https-client.js';
import { listenForSuite } from '../helpers/listen.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

let ca: CertificateAuthority;
let tls: ReturnType<typeof mtlsOptions>;
let payments: IssuedCertificate;
let reporting: IssuedCertificate;
const { path: work, dispose: removeWork } = temporaryDirectory('examples');
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  ca = await createCertificateAuthority();
  const server = await ca.issueServer();
  tls = mtlsOptions({ key: server.key, cert: server.chain, ca: ca.root, onWarning: () => {} });
  payments = await ca.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/payments'] } });
  reporting = await ca.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/reporting'] } });
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  removeWork();
});

const serve = (server: http.Server | https.Server | http2.Http2SecureServer) => listenForSuite(server, closers);

async function call(
  port: number,
  client: IssuedCertificate,
  path: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string; fingerprint: string }> {
  const request = { port, path, method, ca: ca.root, cert: client.chain, key: client.key };
  const answer = await httpsRequest(body === undefined ? request : { ...request, body });
  if (answer.error !== undefined) throw new Error(`${method} ${path}: ${answer.error}`);
  return { status: answer.status, body: answer.body, fingerprint: answer.serverFingerprint256 ?? '' };
}

const httpsApp = (app: Koa) => serve(https.createServer(tls, app.callback()));

describe('examples/minimal-api.ts', () => {
  it('greets a workload of the trust domain by its SPIFFE ID', async () => {
    const port = await httpsApp(createMinimalApp());
    expect(await call(port, payments, '/')).toMatchObject({
      status: 200,
      body: JSON.stringify({ hello: 'spiffe://example.org/ns/prod/sa/payments' }),
    });
  });
});

describe('examples/spiffe-router.ts', () => {
  it('lets payments read orders and refuses reporting with 403', async () => {
    const port = await httpsApp(createSpiffeApp());
    expect((await call(port, payments, '/api/orders')).status).toBe(200);
    expect(await call(port, reporting, '/api/orders')).toMatchObject({ status: 403, body: 'Forbidden' });
    expect((await call(port, reporting, '/api/reports')).status).toBe(200);
  });
});

describe('examples/file-service.ts', () => {
  it('serves a file, accepts a new upload, and refuses traversal (400) and overwrites (404)', async () => {
    const root = mkdtempSync(join(work, 'files-'));
    writeFileSync(join(root, 'report.txt'), 'numbers\n');
    const { app, sandbox } = await createFileService(root);
    closers.push(() => sandbox.close());
    const port = await httpsApp(app);
    expect(await call(port, payments, '/files/report.txt')).toMatchObject({ status: 200, body: 'numbers\n' });
    expect((await call(port, payments, '/files/new.txt', 'PUT', 'hello')).status).toBe(201);
    expect(await call(port, payments, '/files/new.txt')).toMatchObject({ status: 200, body: 'hello' });
    expect((await call(port, payments, '/files/..%2f..%2fetc%2fpasswd')).status).toBe(400);
    expect((await call(port, payments, '/files/report.txt', 'PUT', 'overwrite')).status).toBe(404);
  });
});

describe('examples/behind-proxy.ts', () => {
  it("takes the identity from the proxy's XFCC header, re-verified, and answers 401 without one", async () => {
    const port = await serve(http.createServer(createProxiedApp({ ca: ca.root }).callback()));
    const get = async (headers: Record<string, string>) => {
      const response = await fetch(`http://127.0.0.1:${port}/`, { headers });
      return { status: response.status, body: await response.text() };
    };
    const xfcc = `Hash=${payments.fingerprint256};Cert="${encodeURIComponent(payments.certificate)}"`;
    expect(await get({ 'x-forwarded-client-cert': xfcc })).toEqual({
      status: 200,
      body: JSON.stringify({ caller: 'spiffe://example.org/ns/prod/sa/payments', verifiedBy: 'app' }),
    });
    expect((await get({})).status).toBe(401);
  });
});

describe('examples/rotation.ts', () => {
  it('serves the new certificate to new connections after a Kubernetes-style ..data swap', async () => {
    const dir = mkdtempSync(join(work, 'secret-'));
    await writeSecretVolume(dir, ca, '1');
    const { createApp } = await import('../../examples/minimal-api.js');
    const { server, watcher } = serveWithRotation(dir, createApp());
    const port = await serve(server);
    const before = (await call(port, payments, '/')).fingerprint;
    await writeSecretVolume(dir, ca, '2');
    expect(watcher.reload().status).toBe('rotated');
    const after = (await call(port, payments, '/')).fingerprint;
    expect(after).not.toBe(before);
    expect(secretFiles(dir).certFile).toBe(join(dir, 'tls.crt'));
  });
});

describe('examples/http2.ts', () => {
  it('answers over HTTP/2 with the caller identified', async () => {
    const port = await serve(
      createHttp2Server({ key: tls.key as string, cert: tls.cert as string, ca: ca.root }, createHttp2App()),
    );
    const session = http2.connect(`https://localhost:${port}`, {
      ca: ca.root,
      key: payments.key,
      cert: payments.chain,
      host: '127.0.0.1',
      servername: 'localhost',
    });
    const body = await new Promise<string>((resolve, reject) => {
      const stream = session.request({ ':path': '/' });
      let text = '';
      stream.on('data', (chunk) => {
        text += chunk;
      });
      stream.on('end', () => resolve(text));
      stream.on('error', reject);
    });
    session.close();
    expect(JSON.parse(body)).toEqual({ caller: 'spiffe://example.org/ns/prod/sa/payments', httpVersion: '2.0' });
  });
});

describe('examples/demo.ts (npm run demo)', () => {
  it('plays its scripted session, every outcome as expected, and exits 0', () => {
    const demo = fileURLToPath(new URL('../../examples/demo.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', demo], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('every outcome matched');
    expect(run.stdout).not.toContain('MISMATCH');
    expect(run.status).toBe(0);
  });
});
