/**
 * Real TLS-terminating proxies (nginx, HAProxy, Caddy) in front of a Koa app that reads the forwarded client
 * certificate with `peerCertificate({ sources })`: the identity behind each proxy is the identity the app sees when
 * it terminates TLS itself, the same `requirePeer` policy decides the same way, a certificate the proxy did not
 * verify never becomes a peer, and a forged header from a connection that is not the proxy is removed and reported.
 */
import http from 'node:http';
import https from 'node:https';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { requirePeer } from '../../src/authz/index.js';
import type { PeerCertificateSource } from '../../src/identity/index.js';
import { peerCertificate } from '../../src/identity/index.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { mtlsOptions } from '../../src/tls/index.js';
import { externalTools } from '../helpers/external-tools.js';
import { httpsGet } from '../helpers/https-client.js';
import { listenForSuite } from '../helpers/listen.js';
import { type ProxyKind, type RunningProxy, startProxy } from '../helpers/proxies.js';

const sources: Record<ProxyKind, PeerCertificateSource> = {
  nginx: 'nginx',
  haproxy: { type: 'header', header: 'x-ssl-client-cert', encoding: 'base64-der' },
  caddy: { type: 'header', header: 'x-client-cert', encoding: 'base64-der' },
};
// nginx and HAProxy connect to the app from 127.0.0.2, so a plain request from 127.0.0.1 is "not the proxy".
const proxySource: Record<ProxyKind, string> = { nginx: '127.0.0.2', haproxy: '127.0.0.2', caddy: '127.0.0.1' };

let root: CertificateAuthority;
let other: CertificateAuthority;
let serverCert: IssuedCertificate;
let workload: IssuedCertificate;
let reporting: IssuedCertificate;
const closers: (() => Promise<unknown>)[] = [];

interface Seen {
  readonly status: number;
  readonly body: string;
}

/**
 * A Koa app answering `/` with the peer's identity (or 401), and `/payments` only to the payments workload, plus the
 * audit events it produced and how many requests reached it.
 */
function identityApp(options: Parameters<typeof peerCertificate>[0]): {
  app: Koa;
  events: AuditEvent[];
  received: () => number;
} {
  const events: AuditEvent[] = [];
  let received = 0;
  const app = new Koa();
  app.use(async (_ctx, next) => {
    received++;
    await next();
  });
  app.use(peerCertificate({ ...options, onAudit: (event) => events.push(event) }));
  const router = new Router();
  router.get('/payments', requirePeer({ spiffe: 'spiffe://example.org/ns/prod/sa/payments' }), (ctx) => {
    ctx.body = 'paid';
  });
  app.use(router.routes());
  app.use((ctx) => {
    const peer = ctx.state.peer;
    if (peer === undefined) {
      ctx.status = 401;
      ctx.body = 'no peer';
      return;
    }
    ctx.body = {
      fingerprint256: peer.fingerprint256,
      spiffeId: peer.spiffeId,
      source: peer.source,
      verifiedBy: peer.verifiedBy,
    };
  });
  return { app, events, received: () => received };
}

async function get(
  port: number,
  client: IssuedCertificate | undefined,
  headers: Record<string, string> = {},
  path = '/',
): Promise<Seen> {
  const credentials = client === undefined ? {} : { cert: client.chain, key: client.key };
  return httpsGet({ port, path, ca: root.root, headers: { host: `localhost:${port}`, ...headers }, ...credentials });
}

async function plainGet(port: number, headers: Record<string, string>): Promise<Seen> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers });
  return { status: response.status, body: await response.text() };
}

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=proxy test root' });
  other = await createCertificateAuthority({ subject: 'CN=proxy test root' });
  serverCert = await root.issueServer();
  workload = await root.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/payments'] } });
  reporting = await root.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/reporting'] } });
});

/** What the payments route answers to the payments and the reporting workload: the policy's decisions. */
async function decisions(port: number): Promise<Seen[]> {
  return [await get(port, workload, {}, '/payments'), await get(port, reporting, {}, '/payments')];
}
const expectedDecisions: Seen[] = [
  { status: 200, body: 'paid' },
  { status: 403, body: 'Forbidden' },
];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

describe('when the app terminates TLS itself', () => {
  it('identifies the workload from the socket (the reference for the proxies below)', async () => {
    const { app } = identityApp({ sources: ['tls'] });
    const port = await listenForSuite(
      https.createServer(
        mtlsOptions({ key: serverCert.key, cert: serverCert.chain, ca: root.root, onWarning: () => {} }),
        app.callback(),
      ),
      closers,
    );
    const seen = await get(port, workload);
    expect(seen.status).toBe(200);
    expect(JSON.parse(seen.body)).toEqual({
      fingerprint256: workload.fingerprint256,
      spiffeId: 'spiffe://example.org/ns/prod/sa/payments',
      source: 'tls',
      verifiedBy: 'tls-handshake',
    });
    expect(await decisions(port)).toEqual(expectedDecisions);
  });
});

const installedProxies = (['nginx', 'haproxy', 'caddy'] as const).filter((kind) =>
  externalTools(`the proxy suite behind ${kind}`, [kind]),
);

describe.each<ProxyKind>(installedProxies)('behind %s', (kind) => {
  let proxy: RunningProxy;
  let backendPort: number;
  let events: AuditEvent[];
  let received: () => number;

  beforeAll(async () => {
    const built = identityApp({
      sources: [sources[kind]],
      trustedProxies: { addresses: [`${proxySource[kind]}/32`] },
      verify: { ca: root.root },
    });
    events = built.events;
    received = built.received;
    backendPort = await listenForSuite(http.createServer(built.app.callback()), closers);
    proxy = await startProxy(
      kind,
      { ca: root.root, cert: serverCert.chain, key: serverCert.key },
      backendPort,
      proxySource[kind],
    );
    closers.push(() => proxy.stop());
  });

  it('gives the app the same identity it sees when it terminates TLS, re-verified by the app', async () => {
    const seen = await get(proxy.port, workload);
    expect(seen.status).toBe(200);
    expect(JSON.parse(seen.body)).toMatchObject({
      fingerprint256: workload.fingerprint256,
      spiffeId: 'spiffe://example.org/ns/prod/sa/payments',
      verifiedBy: 'app',
    });
  });

  it('lets the same policy decide the same way as when the app terminates TLS', async () => {
    expect(await decisions(proxy.port)).toEqual(expectedDecisions);
  });

  it('lets no request through whose certificate the proxy refuses (another CA with the same name)', async () => {
    const stranger = await other.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/payments'] } });
    const before = received();
    // nginx answers 400 itself; HAProxy and Caddy fail the handshake. Either way the app never sees the request.
    const outcome = await get(proxy.port, stranger).then(
      (seen) => seen.status,
      () => 'handshake refused',
    );
    expect(outcome).toBe(kind === 'nginx' ? 400 : 'handshake refused');
    expect(received()).toBe(before);
  });

  if (kind !== 'caddy') {
    it('removes and reports a forged certificate header sent to the app by anyone but the proxy', async () => {
      events.length = 0;
      const forged = await root.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/admin'] } });
      const header = proxy.header;
      const value =
        kind === 'nginx'
          ? encodeURIComponent(forged.certificate)
          : Buffer.from(forged.certificate.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
      const seen = await plainGet(backendPort, { [header]: value });
      expect(seen).toEqual({ status: 401, body: 'no peer' });
      expect(events.map((event) => event.reason)).toContain('PROXY_UNTRUSTED_SOURCE');
    });
  }
});

describe.skipIf(!installedProxies.includes('nginx'))('behind nginx, with a second header source configured', () => {
  it('reads only the header nginx sets: a Client-Cert its client added is removed and reported', async () => {
    const built = identityApp({
      // Listed first on purpose: the order of sources never decides, the proxy's binding does.
      sources: ['client-cert', 'nginx'],
      trustedProxies: { addresses: [`${proxySource.nginx}/32`], source: 'nginx' },
      verify: { ca: root.root },
    });
    const backendPort = await listenForSuite(http.createServer(built.app.callback()), closers);
    const proxy = await startProxy(
      'nginx',
      { ca: root.root, cert: serverCert.chain, key: serverCert.key },
      backendPort,
      proxySource.nginx,
    );
    closers.push(() => proxy.stop());
    const forged = `:${Buffer.from(workload.certificate.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64')}:`;
    // The reporting workload connects through nginx and claims to be the payments workload in Client-Cert.
    const seen = await get(proxy.port, reporting, { 'client-cert': forged }, '/payments');
    expect(seen).toEqual({ status: 403, body: 'Forbidden' });
    expect(built.events.map((event) => event.reason)).toEqual(['PROXY_UNEXPECTED_SOURCE', 'PEER_IDENTIFIED']);
    expect(built.events[0]?.detail).toMatchObject({ headers: ['client-cert'] });
  });
});
