/**
 * Each trusted proxy is bound to the one header source it sets. A header of any other configured source on its
 * requests came from its client: it is removed and reported, and never decides who the client is — so a proxy that
 * sanitizes only XFCC cannot be used to add `Client-Cert`, and a client without a certificate never becomes someone.
 */
import { createHash, X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../src/audit/event.js';
import { InvalidOptionError } from '../../../src/errors.js';
import { type PeerCertificateOptions, peerCertificate } from '../../../src/identity/peer-certificate.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
} from '../../../src/pki/index.js';
import { close, listen } from '../../helpers/listen.js';
import { get } from '../helpers/tls.js';

const CLIENT_ID = 'spiffe://example.org/ns/prod/sa/api';
const ADMIN_ID = 'spiffe://example.org/ns/prod/sa/admin';
const EDGE_ID = 'spiffe://example.org/ns/edge/sa/envoy';
let root: CertificateAuthority;
let server: IssuedCertificate;
let client: IssuedCertificate;
let admin: IssuedCertificate;
let edge: IssuedCertificate;
const servers: (http.Server | https.Server)[] = [];

const derOf = (pem: string) => new X509Certificate(pem).raw;
const hashOf = (pem: string) => createHash('sha256').update(derOf(pem)).digest('hex');
const xfcc = (certificate: IssuedCertificate) =>
  `By=${EDGE_ID};Hash=${hashOf(certificate.certificate)};Cert="${encodeURIComponent(certificate.certificate)}"`;
const clientCert = (certificate: IssuedCertificate) => `:${derOf(certificate.certificate).toString('base64')}:`;
const nginx = (certificate: IssuedCertificate) => encodeURIComponent(certificate.certificate);

const sources: PeerCertificateOptions['sources'] = ['xfcc', 'client-cert', 'nginx'];

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=Binding Test Root' });
  server = await root.issueServer();
  client = await root.issueClient({ san: { uri: [CLIENT_ID] } });
  admin = await root.issueClient({ san: { uri: [ADMIN_ID] } });
  edge = await root.issueClient({ san: { uri: [EDGE_ID] } });
});

afterAll(async () => {
  await Promise.all(servers.map(close));
});

interface Seen {
  readonly peer: string | null;
  readonly headers: readonly string[];
}

/** An app behind the proxy, plain HTTP on loopback; answers the peer's SPIFFE ID and the forwarded headers left. */
async function start(options: PeerCertificateOptions, tls = false) {
  const events: AuditEvent[] = [];
  const app = new Koa();
  app.use(peerCertificate({ ...options, onAudit: (event) => events.push(event) }));
  app.use((ctx) => {
    const left = ['x-forwarded-client-cert', 'client-cert', 'client-cert-chain', 'x-ssl-client-cert'].filter(
      (name) => ctx.request.headers[name] !== undefined,
    );
    ctx.body = { peer: ctx.state.peer?.spiffeId ?? null, headers: left };
  });
  const instance = tls
    ? https.createServer(
        { key: server.key, cert: server.certificate, ca: root.root, requestCert: true, rejectUnauthorized: false },
        app.callback(),
      )
    : http.createServer(app.callback());
  servers.push(instance);
  return { port: await listen(instance), events };
}

async function plainGet(port: number, headers: Record<string, string>): Promise<Seen> {
  return (await fetch(`http://127.0.0.1:${port}/`, { headers })).json() as Promise<Seen>;
}

const reasons = (events: readonly AuditEvent[]) => events.map((event) => event.reason);

describe('when a trusted proxy is bound to one source and its request carries another', () => {
  it.each<[string, string, () => Record<string, string>, Seen, string[]]>([
    [
      'an XFCC proxy whose client had no certificate adds Client-Cert',
      'xfcc',
      () => ({ 'client-cert': clientCert(admin) }),
      { peer: null, headers: [] },
      ['PROXY_UNEXPECTED_SOURCE', 'PROXY_CERTIFICATE_MISSING'],
    ],
    [
      'an XFCC proxy forwards the client, and the client added an nginx header',
      'xfcc',
      () => ({ 'x-forwarded-client-cert': xfcc(client), 'x-ssl-client-cert': nginx(admin) }),
      { peer: CLIENT_ID, headers: ['x-forwarded-client-cert'] },
      ['PROXY_UNEXPECTED_SOURCE', 'PEER_IDENTIFIED'],
    ],
    [
      'an RFC 9440 proxy forwards the client, and the client added XFCC',
      'client-cert',
      () => ({ 'client-cert': clientCert(client), 'x-forwarded-client-cert': xfcc(admin) }),
      { peer: CLIENT_ID, headers: ['client-cert'] },
      ['PROXY_UNEXPECTED_SOURCE', 'PEER_IDENTIFIED'],
    ],
    [
      'an nginx proxy (named by its header) whose client added Client-Cert-Chain only',
      'x-ssl-client-cert',
      () => ({ 'client-cert-chain': clientCert(admin) }),
      { peer: null, headers: [] },
      ['PROXY_UNEXPECTED_SOURCE', 'PROXY_CERTIFICATE_MISSING'],
    ],
  ])('%s: only the bound source is read', async (_label, source, headers, seen, expected) => {
    const { port, events } = await start({
      sources,
      trustedProxies: { addresses: ['127.0.0.1/32'], source },
      verify: { ca: root.root },
    });
    expect(await plainGet(port, headers())).toEqual(seen);
    expect(reasons(events)).toEqual(expected);
    expect(events[0]?.detail).toMatchObject({ headers: expect.any(Array) });
  });

  it('keeps the proxies of a list apart: each reads only its own source', async () => {
    const { port, events } = await start(
      {
        sources: ['tls', 'xfcc', 'client-cert'],
        trustedProxies: [
          { peer: (proxy) => proxy.spiffeId === EDGE_ID, source: 'xfcc' },
          { peer: (proxy) => proxy.spiffeId === CLIENT_ID, source: 'client-cert' },
        ],
        verify: { ca: root.root },
      },
      true,
    );
    const asEdge = { ca: root.root, cert: edge.chain, key: edge.key };
    const answer = await get(port, asEdge, undefined, '/', { 'client-cert': clientCert(admin) });
    expect(JSON.parse(answer.body)).toEqual({ peer: null, headers: [] });
    expect(reasons(events)).toEqual(['PROXY_UNEXPECTED_SOURCE', 'PROXY_CERTIFICATE_MISSING']);
  });

  it('reads no source at all from a connection that matches proxies bound to different sources', async () => {
    const { port, events } = await start({
      sources,
      trustedProxies: [
        { addresses: ['127.0.0.0/8'], source: 'xfcc' },
        { addresses: ['127.0.0.1'], source: 'client-cert' },
      ],
      verify: { ca: root.root },
    });
    const seen = await plainGet(port, { 'x-forwarded-client-cert': xfcc(client), 'client-cert': clientCert(client) });
    expect(seen).toEqual({ peer: null, headers: [] });
    expect(reasons(events)).toEqual(['PROXY_SOURCE_AMBIGUOUS']);
  });
});

describe('when the binding of proxies to sources is misconfigured', () => {
  it.each<[string, Partial<PeerCertificateOptions>, string]>([
    [
      'several header sources, no source named',
      { trustedProxies: { addresses: ['127.0.0.1'] } },
      'peerCertificate.trustedProxies.source',
    ],
    [
      'a source that is not configured',
      { trustedProxies: { addresses: ['127.0.0.1'], source: 'x-other' } },
      'peerCertificate.trustedProxies.source',
    ],
    ['an empty list', { trustedProxies: [] }, 'peerCertificate.trustedProxies'],
    [
      'a list entry without source',
      { trustedProxies: [{ addresses: ['127.0.0.1'], source: 'xfcc' }, { addresses: ['10.0.0.1'] }] },
      'peerCertificate.trustedProxies[1].source',
    ],
    [
      'a type used by two sources',
      {
        sources: ['xfcc', { type: 'xfcc', header: 'x-other-xfcc' }],
        trustedProxies: { addresses: ['127.0.0.1'], source: 'xfcc' },
      },
      'peerCertificate.trustedProxies.source',
    ],
  ])('throws for %s', (_label, options, path) => {
    let caught: unknown;
    try {
      peerCertificate({ sources, verify: { ca: root.root }, ...options } as PeerCertificateOptions);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidOptionError);
    expect((caught as InvalidOptionError).path).toBe(path);
  });

  it('needs no source when only one header source is configured (the proxy can set nothing else)', () => {
    expect(() =>
      peerCertificate({
        sources: ['tls', 'xfcc'],
        trustedProxies: { addresses: ['127.0.0.1'] },
        verify: { ca: root.root },
      }),
    ).not.toThrow();
  });
});
