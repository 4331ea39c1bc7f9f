/**
 * The two Kubernetes health-probe patterns of docs/mixed-routes.md, as a kubelet would run them:
 * A. an `allowAnonymous()` route on the mTLS port (`clientCertificate: 'optional'`), probed by `httpGet` with
 *    `scheme: HTTPS` — no client certificate, no SNI (the kubelet connects to the pod IP), no server verification;
 * B. a plain-HTTP listener bound to loopback beside a strict mTLS port, probed by an `exec` probe inside the pod
 *    (kubelet `httpGet` cannot reach a loopback listener), while the mTLS port keeps refusing certificate-less clients.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAnonymous } from '../../src/anonymous/index.js';
import { requirePeer } from '../../src/authz/index.js';
import { peerCertificate } from '../../src/identity/index.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { mtlsOptions } from '../../src/tls/index.js';
import { externalTools } from '../helpers/external-tools.js';
import { listenForSuite } from '../helpers/listen.js';
import { runProgram } from '../helpers/processes.js';

let root: CertificateAuthority;
let serverCert: IssuedCertificate;
const closers: (() => Promise<unknown>)[] = [];

async function run(command: string, args: readonly string[]): Promise<string> {
  const { code, stdout } = await runProgram(command, args, { timeoutMs: 15_000 });
  return code === 0 ? stdout : 'failed';
}

/** The service's routes: the guarded business route, and the health route where a pattern needs it. */
function serviceRouter(anonymousHealth: boolean): Router {
  const router = new Router();
  if (anonymousHealth) {
    router.get('/healthz', allowAnonymous(), (ctx) => {
      ctx.body = 'ok';
    });
  }
  router.get('/orders', requirePeer({ trustDomain: 'example.org' }), (ctx) => {
    ctx.body = [];
  });
  return router;
}

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=Probe Root' });
  serverCert = await root.issueServer();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

const withCurl = externalTools('the health-probe suite', ['curl']);

describe.skipIf(!withCurl)('pattern A: an anonymous route on the mTLS port', () => {
  let port: number;
  beforeAll(async () => {
    const router = serviceRouter(true);
    const app = new Koa().use(peerCertificate({ anonymousRoutes: router })).use(router.routes());
    const options = mtlsOptions({
      key: serverCert.key,
      cert: serverCert.chain,
      ca: root.root,
      clientCertificate: 'optional',
      onWarning: () => {},
    });
    port = await listenForSuite(https.createServer(options, app.callback()), closers);
  });

  it('answers a kubelet-style httpGet probe (HTTPS, no certificate, no SNI, no verification) with 200', async () => {
    expect(
      await run('curl', ['-sk', '--max-time', '10', '-w', ' %{http_code}', `https://127.0.0.1:${port}/healthz`]),
    ).toBe('ok 200');
  });

  it('answers the same client 401 on every other route', async () => {
    const answer = await run('curl', [
      '-sk',
      '--max-time',
      '10',
      '-w',
      ' %{http_code}',
      `https://127.0.0.1:${port}/orders`,
    ]);
    expect(answer).toBe('Client certificate required 401');
  });
});

describe.skipIf(!withCurl)('pattern B: a loopback-only plain listener beside a strict mTLS port', () => {
  let mtlsPort: number;
  let healthPort: number;
  let healthServer: http.Server;
  beforeAll(async () => {
    const router = serviceRouter(false);
    const app = new Koa().use(peerCertificate()).use(router.routes());
    const options = mtlsOptions({ key: serverCert.key, cert: serverCert.chain, ca: root.root, onWarning: () => {} });
    mtlsPort = await listenForSuite(https.createServer(options, app.callback()), closers);
    // A separate app with the probe routes only: nothing of the service is reachable without TLS.
    const health = new Koa().use((ctx) => {
      if (ctx.path !== '/healthz') return;
      ctx.body = 'ok';
    });
    healthServer = http.createServer(health.callback());
    healthPort = await listenForSuite(healthServer, closers);
  });

  it('binds the plain listener to loopback only', () => {
    expect((healthServer.address() as AddressInfo).address).toBe('127.0.0.1');
  });

  it('answers an exec probe run inside the pod (node, no curl needed in the image) with ok', async () => {
    const probe = `fetch('http://127.0.0.1:${healthPort}/healthz').then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, () => process.exit(1))`;
    expect(await run(process.execPath, ['-e', probe])).toBe('ok');
  });

  it('serves none of the service routes on the plain listener', async () => {
    expect(
      await run('curl', ['-s', '--max-time', '10', '-w', '%{http_code}', `http://127.0.0.1:${healthPort}/orders`]),
    ).toBe('Not Found404');
  });

  it('keeps the mTLS port strict: a client without a certificate fails the handshake', async () => {
    expect(await run('curl', ['-sk', '--max-time', '10', `https://127.0.0.1:${mtlsPort}/orders`])).toBe('failed');
  });
});
