import { createHash, X509Certificate } from 'node:crypto';
import type http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { InvalidOptionError } from '../../src/errors.js';
import { type PeerCertificateOptions, peerCertificate } from '../../src/identity/peer-certificate.js';
import type { PeerIdentity } from '../../src/identity/peer-identity.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { close, listen } from '../helpers/listen.js';
import { get, http2Session } from './helpers/tls.js';

let root: CertificateAuthority;
let intermediate: CertificateAuthority;
let server: IssuedCertificate;
let client: IssuedCertificate;
let proxy: IssuedCertificate;
let stranger: IssuedCertificate;
const servers: (http.Server | http2.Http2SecureServer)[] = [];

const PROXY_ID = 'spiffe://example.org/ns/ingress/sa/envoy';
const CLIENT_ID = 'spiffe://example.org/ns/prod/sa/api';

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=Proxy Test Root' });
  intermediate = await root.createIntermediate({ subject: 'CN=Proxy Test Intermediate' });
  server = await root.issueServer();
  client = await intermediate.issueClient({ subject: 'CN=client', san: { uri: [CLIENT_ID] } });
  proxy = await root.issueClient({ subject: 'CN=envoy', san: { uri: [PROXY_ID] } });
  stranger = await root.issueClient({ subject: 'CN=stranger', san: { uri: ['spiffe://example.org/ns/x/sa/y'] } });
});

afterAll(async () => {
  await Promise.all(servers.map(close));
});

const derOf = (pem: string) => new X509Certificate(pem).raw;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const xfcc = (certificate: IssuedCertificate, extra = '') =>
  `By=${PROXY_ID};Hash=${sha256(derOf(certificate.certificate))};Cert="${encodeURIComponent(certificate.certificate)}";Chain="${encodeURIComponent(certificate.chain)}"${extra}`;
const clientCert = (certificate: IssuedCertificate) => `:${derOf(certificate.certificate).toString('base64')}:`;

interface Seen {
  peer: PeerIdentity | undefined;
  headers: Record<string, unknown>;
  rawHeaders: string[];
}

async function start(options: PeerCertificateOptions, kind: 'https' | 'http2' = 'https') {
  const events: AuditEvent[] = [];
  const seen: Seen[] = [];
  const app = new Koa();
  app.use(peerCertificate({ onAudit: (event) => events.push(event), ...options }));
  app.use((ctx) => {
    seen.push({ peer: ctx.state.peer, headers: { ...ctx.request.headers }, rawHeaders: [...ctx.req.rawHeaders] });
    ctx.body = { peer: ctx.state.peer?.spiffeId ?? null };
  });
  const tlsOptions = {
    key: server.key,
    cert: server.certificate,
    ca: root.root,
    requestCert: true,
    rejectUnauthorized: false,
  };
  const instance =
    kind === 'https'
      ? https.createServer(tlsOptions, app.callback())
      : http2.createSecureServer({ ...tlsOptions, allowHTTP1: true }, app.callback());
  servers.push(instance);
  return { port: await listen(instance), events, seen };
}

const allSources: PeerCertificateOptions['sources'] = [
  'tls',
  'xfcc',
  'client-cert',
  'nginx',
  { type: 'header', header: 'x-client-cert-der', encoding: 'base64-der' },
];
const trustLoopback = (source = 'xfcc'): PeerCertificateOptions => ({
  sources: allSources,
  trustedProxies: { addresses: ['127.0.0.1/32', '::1'], source },
  verify: { ca: root.root },
});
const asProxy = () => ({ ca: root.root, cert: proxy.chain, key: proxy.key });

describe('when a trusted proxy (by address) forwards the client certificate', () => {
  it.each([
    ['Envoy XFCC', () => ({ 'x-forwarded-client-cert': xfcc(client) }), 'xfcc', 'xfcc'],
    [
      'RFC 9440 Client-Cert with Client-Cert-Chain',
      () => ({ 'client-cert': clientCert(client), 'client-cert-chain': clientCert(intermediate) }),
      'client-cert',
      'client-cert',
    ],
    [
      'nginx $ssl_client_escaped_cert',
      () => ({
        'x-ssl-client-cert': encodeURIComponent(client.certificate),
      }),
      'header',
      'nginx',
    ],
    [
      'HAProxy/Caddy base64 DER',
      () => ({ 'x-client-cert-der': derOf(client.certificate).toString('base64') }),
      'header',
      'x-client-cert-der',
    ],
  ])('identifies the client from %s, re-verified by the app', async (_label, headers, source, binding) => {
    const options = trustLoopback(binding);
    const needsIntermediate = source === 'header';
    const { port, seen, events } = await start(
      needsIntermediate ? { ...options, verify: { ca: root.root, intermediates: intermediate.certificate } } : options,
    );
    const answer = await get(port, asProxy(), undefined, '/', headers());
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ peer: CLIENT_ID });
    expect(seen[0]?.peer?.verifiedBy).toBe('app');
    expect(seen[0]?.peer?.source).toBe(source);
    expect(events.at(-1)).toMatchObject({ kind: 'identity', outcome: 'allow', reason: 'PEER_IDENTIFIED' });
  });

  it('never uses the proxy own certificate as the client identity when no header is sent', async () => {
    const { port, events } = await start(trustLoopback());
    expect(JSON.parse((await get(port, asProxy())).body)).toEqual({ peer: null });
    expect(events.at(-1)).toMatchObject({ kind: 'proxy', outcome: 'reject', reason: 'PROXY_CERTIFICATE_MISSING' });
  });

  it('uses the element of the nearest hop, not an attacker element placed first', async () => {
    const { port } = await start(trustLoopback());
    const header = `${xfcc(stranger)},${xfcc(client)}`;
    expect(
      JSON.parse((await get(port, asProxy(), undefined, '/', { 'x-forwarded-client-cert': header })).body),
    ).toEqual({
      peer: CLIENT_ID,
    });
  });

  it.each([
    [
      'a Hash that does not match Cert',
      () => xfcc(client).replace(/Hash=[0-9a-f]+/, `Hash=${'0'.repeat(64)}`),
      'PROXY_HASH_MISMATCH',
    ],
    [
      'an element without Cert (claimed fields only)',
      () => `By=x;Subject="CN=admin";URI=${CLIENT_ID}`,
      'PROXY_CERTIFICATE_MISSING',
    ],
    ['an unterminated quote', () => 'Cert="abc', 'PROXY_HEADER_MALFORMED'],
    ['a Cert that is not a certificate', () => 'Cert="hello"', 'PROXY_HEADER_MALFORMED'],
    ['a certificate from an unknown CA', () => 'STRANGER', 'PROXY_CHAIN_UNTRUSTED'],
  ])('gives no peer (never a 500) for %s', async (_label, header, reason) => {
    const { port, events } = await start(trustLoopback());
    let value = header();
    if (value === 'STRANGER') {
      const other = await createCertificateAuthority();
      value = xfcc(await other.issueClient({ san: { uri: [CLIENT_ID] } }));
    }
    const answer = await get(port, asProxy(), undefined, '/', { 'x-forwarded-client-cert': value });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ peer: null });
    expect(events.at(-1)).toMatchObject({ kind: 'proxy', outcome: 'reject', reason });
  });

  it('refuses a header longer than maxHeaderBytes', async () => {
    const { port, events } = await start({ ...trustLoopback(), maxHeaderBytes: 1024 });
    await get(port, asProxy(), undefined, '/', { 'x-forwarded-client-cert': xfcc(client) });
    expect(events.at(-1)).toMatchObject({ reason: 'PROXY_HEADER_TOO_LARGE' });
  });

  it('works over HTTP/2 as well', async () => {
    const { port } = await start(trustLoopback(), 'http2');
    const session = await http2Session(port, asProxy());
    const answer = await session.get('/', { 'x-forwarded-client-cert': xfcc(client) });
    await session.close();
    expect(JSON.parse(answer.body)).toEqual({ peer: CLIENT_ID });
  });
});

describe('when a request that is not from a trusted proxy carries a forwarded certificate', () => {
  it('ignores and strips the header, audits a spoofing attempt, and falls back to the socket peer', async () => {
    const { port, seen, events } = await start({
      ...trustLoopback(),
      trustedProxies: { addresses: ['10.0.0.0/8'], source: 'xfcc' },
    });
    const headers = { 'x-forwarded-client-cert': xfcc(client), 'client-cert': clientCert(client) };
    const answer = await get(port, { ca: root.root, cert: stranger.chain, key: stranger.key }, undefined, '/', headers);
    expect(JSON.parse(answer.body)).toEqual({ peer: 'spiffe://example.org/ns/x/sa/y' });
    expect(seen[0]?.peer?.source).toBe('tls');
    expect(seen[0]?.headers['x-forwarded-client-cert']).toBeUndefined();
    expect(seen[0]?.headers['client-cert']).toBeUndefined();
    expect(seen[0]?.rawHeaders.map((name) => name.toLowerCase())).not.toContain('x-forwarded-client-cert');
    expect(events[0]).toMatchObject({
      kind: 'proxy',
      outcome: 'reject',
      reason: 'PROXY_UNTRUSTED_SOURCE',
      detail: { remoteAddress: '127.0.0.1', check: 'address', headers: ['x-forwarded-client-cert', 'client-cert'] },
    });
    expect(events[1]).toMatchObject({ kind: 'identity', reason: 'PEER_IDENTIFIED' });
  });

  it('strips the header on HTTP/2 too', async () => {
    const { port, seen, events } = await start(
      { ...trustLoopback(), trustedProxies: { addresses: ['10.0.0.0/8'], source: 'xfcc' } },
      'http2',
    );
    const session = await http2Session(port, { ca: root.root });
    await session.get('/', { 'x-forwarded-client-cert': xfcc(client) });
    await session.close();
    expect(seen[0]?.peer).toBeUndefined();
    expect(seen[0]?.headers['x-forwarded-client-cert']).toBeUndefined();
    expect(seen[0]?.rawHeaders.map((name) => name.toLowerCase())).not.toContain('x-forwarded-client-cert');
    expect(events.map((event) => event.reason)).toEqual(['PROXY_UNTRUSTED_SOURCE', 'PEER_NO_CERTIFICATE']);
  });

  it('gives no peer at all when the socket is not a source', async () => {
    const { port, events } = await start({
      sources: ['xfcc'],
      trustedProxies: { addresses: ['10.0.0.0/8'] },
      verify: { ca: root.root },
    });
    const answer = await get(port, asProxy(), undefined, '/', { 'x-forwarded-client-cert': xfcc(client) });
    expect(JSON.parse(answer.body)).toEqual({ peer: null });
    expect(events.map((event) => event.reason)).toEqual(['PROXY_UNTRUSTED_SOURCE', 'PEER_NO_SOURCE']);
  });
});

describe('when proxies are trusted by their own mTLS identity', () => {
  const byIdentity = (): PeerCertificateOptions => ({
    sources: ['tls', 'xfcc'],
    trustedProxies: { peer: (peer) => peer.spiffeId === PROXY_ID },
    verify: { ca: root.root },
  });

  it('reads the header from the proxy', async () => {
    const { port } = await start(byIdentity());
    const answer = await get(port, asProxy(), undefined, '/', { 'x-forwarded-client-cert': xfcc(client) });
    expect(JSON.parse(answer.body)).toEqual({ peer: CLIENT_ID });
  });

  it.each([
    ['another client certificate', () => ({ ca: root.root, cert: stranger.chain, key: stranger.key })],
    ['no client certificate', () => ({ ca: root.root })],
  ])('ignores and strips it from %s', async (_label, credentials) => {
    const { port, seen, events } = await start(byIdentity());
    await get(port, credentials(), undefined, '/', { 'x-forwarded-client-cert': xfcc(client) });
    expect(seen[0]?.peer?.spiffeId).not.toBe(CLIENT_ID);
    expect(seen[0]?.headers['x-forwarded-client-cert']).toBeUndefined();
    expect(events[0]).toMatchObject({ reason: 'PROXY_UNTRUSTED_SOURCE', detail: { check: 'peer' } });
  });

  it('treats a throwing predicate as "not trusted"', async () => {
    const { port, events } = await start({
      ...byIdentity(),
      trustedProxies: {
        peer: () => {
          throw new Error('boom');
        },
      },
    });
    const answer = await get(port, asProxy(), undefined, '/', { 'x-forwarded-client-cert': xfcc(client) });
    expect(answer.status).toBe(200);
    expect(events[0]).toMatchObject({ reason: 'PROXY_UNTRUSTED_SOURCE' });
  });

  it('requires both address and identity when both are configured', async () => {
    const { port, events } = await start({
      ...byIdentity(),
      trustedProxies: { addresses: ['10.0.0.0/8'], peer: (peer) => peer.spiffeId === PROXY_ID },
    });
    await get(port, asProxy(), undefined, '/', { 'x-forwarded-client-cert': xfcc(client) });
    expect(events[0]).toMatchObject({ reason: 'PROXY_UNTRUSTED_SOURCE', detail: { check: 'address' } });
  });
});

describe('when the proxy options are wrong', () => {
  it.each([
    [{ sources: ['xfcc'], verify: { ca: 'ROOT' } }, 'peerCertificate.trustedProxies'],
    [{ sources: ['xfcc'], trustedProxies: { addresses: ['127.0.0.1'] } }, 'peerCertificate.verify'],
    [{ sources: ['xfcc'], trustedProxies: {}, verify: { ca: 'ROOT' } }, 'peerCertificate.trustedProxies'],
    [
      { sources: ['xfcc'], trustedProxies: { addresses: ['nope'] }, verify: { ca: 'ROOT' } },
      'peerCertificate.trustedProxies.addresses[0]',
    ],
    [{ trustedProxies: { addresses: ['127.0.0.1'] } }, 'peerCertificate.sources'],
    [{ sources: [] }, 'peerCertificate.sources'],
    [{ sources: ['carrier-pigeon'] }, 'peerCertificate.sources[0].type'],
    [{ sources: [{ type: 'header', encoding: 'pem' }] }, 'peerCertificate.sources[0].header'],
    [{ sources: [{ type: 'header', header: 'x-cert' }] }, 'peerCertificate.sources[0].encoding'],
    [{ sources: [{ type: 'header', header: 'bad header', encoding: 'pem' }] }, 'peerCertificate.sources[0].header'],
    [{ sources: [{ type: 'xfcc', hops: 0 }] }, 'peerCertificate.sources[0].hops'],
    [{ sources: [{ type: 'xfcc', hop: 2 }] }, 'peerCertificate.sources[0].hop'],
    [
      { sources: ['nginx', { type: 'header', header: 'X-SSL-Client-Cert', encoding: 'pem' }] },
      'peerCertificate.sources[1]',
    ],
    [{ maxHeaderBytes: 10 }, 'peerCertificate.maxHeaderBytes'],
  ])('throws InvalidOptionError for %j at %s', (raw, path) => {
    const options = JSON.parse(
      JSON.stringify(raw).replaceAll('"ROOT"', JSON.stringify(root.root)),
    ) as PeerCertificateOptions;
    let caught: unknown;
    try {
      peerCertificate(options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidOptionError);
    expect((caught as InvalidOptionError).path).toBe(path);
  });
});

describe('when claimed identities are explicitly allowed (allowClaimedIdentity)', () => {
  const claimed = (): PeerCertificateOptions => ({
    sources: [{ type: 'xfcc', allowClaimedIdentity: true }],
    trustedProxies: { addresses: ['127.0.0.1'] },
    verify: { ca: root.root },
  });

  it('builds an identity from the claimed fields, marked proxy-claimed', async () => {
    const { port, seen } = await start(claimed());
    const header = `By=x;Hash=${'AB'.repeat(32)};Subject="CN=svc+UID=42,O=Acme\\, Inc";URI=${CLIENT_ID};DNS=a.example;DNS=b.example`;
    const answer = await get(port, asProxy(), undefined, '/', { 'x-forwarded-client-cert': header });
    expect(JSON.parse(answer.body)).toEqual({ peer: CLIENT_ID });
    const peer = seen[0]?.peer as PeerIdentity;
    expect(peer.verifiedBy).toBe('proxy-claimed');
    expect(peer.source).toBe('xfcc');
    expect(peer.subject.toString()).toBe('CN=svc+UID=42,O=Acme\\, Inc');
    expect(peer.subject.get('UID')).toEqual(['42']);
    expect(peer.san.dns).toEqual(['a.example', 'b.example']);
    expect(peer.fingerprint256).toBe('ab'.repeat(32));
    expect(peer.der).toHaveLength(0);
    expect(Object.isFrozen(peer)).toBe(true);
  });

  it('still prefers (and re-verifies) the certificate when the element has one', async () => {
    const { port, seen } = await start(claimed());
    await get(port, asProxy(), undefined, '/', { 'x-forwarded-client-cert': xfcc(client, ';Subject="CN=admin"') });
    expect(seen[0]?.peer?.verifiedBy).toBe('app');
    expect(seen[0]?.peer?.subject.toString()).toBe('CN=client');
  });

  it('gives no peer for two claimed URIs (a split SAN cannot be told apart), nor for an unparsable Subject', async () => {
    const { port, seen, events } = await start(claimed());
    await get(port, asProxy(), undefined, '/', {
      'x-forwarded-client-cert': `URI=${CLIENT_ID};URI=spiffe://example.org/b`,
    });
    expect(seen[0]?.peer).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ kind: 'proxy', reason: 'PROXY_HEADER_MALFORMED' });
    await get(port, asProxy(), undefined, '/', { 'x-forwarded-client-cert': 'Subject="/C=US/CN=legacy"' });
    expect(seen[1]?.peer).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ kind: 'proxy', reason: 'PROXY_HEADER_MALFORMED' });
  });
});
