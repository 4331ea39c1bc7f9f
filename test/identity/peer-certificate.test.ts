import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { InvalidOptionError } from '../../src/errors.js';
import { type PeerCertificateOptions, peerCertificate } from '../../src/identity/peer-certificate.js';
import type { PeerIdentity } from '../../src/identity/peer-identity.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { httpsGet } from '../helpers/https-client.js';
import { close, listen } from '../helpers/listen.js';
import { countPeerCertificateCalls, get, http2Session } from './helpers/tls.js';

let root: CertificateAuthority;
let intermediate: CertificateAuthority;
let server: IssuedCertificate;
let client: IssuedCertificate;
const servers: (http.Server | http2.Http2SecureServer)[] = [];

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=Identity Root,O=Acme' });
  intermediate = await root.createIntermediate({ subject: 'CN=Identity Intermediate,O=Acme' });
  server = await root.issueServer();
  client = await intermediate.issueClient({
    subject: 'CN=svc+UID=42,O=Acme',
    san: { uri: ['spiffe://example.org/ns/prod/sa/api'] },
  });
});

afterAll(async () => {
  await Promise.all(servers.map(close));
});

interface Harness {
  readonly events: AuditEvent[];
  readonly peers: (PeerIdentity | undefined)[];
  handled: number;
  readonly app: Koa;
}

function createApp(options: PeerCertificateOptions = {}): Harness {
  const harness: Harness = { events: [], peers: [], handled: 0, app: new Koa() };
  harness.app.use(async (ctx, next) => {
    // A forged identity set before peerCertificate must not survive it.
    if (ctx.path === '/preset') ctx.state.peer = { spiffeId: 'spiffe://evil/x' } as PeerIdentity;
    await next();
  });
  harness.app.use(peerCertificate({ onAudit: (event) => harness.events.push(event), ...options }));
  harness.app.use((ctx) => {
    harness.handled += 1;
    const peer = ctx.state.peer;
    harness.peers.push(peer);
    ctx.body =
      peer === undefined
        ? { peer: null }
        : { subject: peer.subject.toString(), spiffeId: peer.spiffeId ?? null, source: peer.source };
  });
  return harness;
}

async function httpsServer(harness: Harness, rejectUnauthorized = false) {
  const instance = https.createServer(
    { key: server.key, cert: server.certificate, ca: root.root, requestCert: true, rejectUnauthorized },
    harness.app.callback(),
  );
  servers.push(instance);
  const counter = countPeerCertificateCalls(instance);
  return { port: await listen(instance), counter };
}

const withClient = () => ({ ca: root.root, cert: client.chain, key: client.key });
const lastEvent = (harness: Harness) => harness.events.at(-1);

describe('when the TLS peer presents a verified certificate (HTTP/1.1)', () => {
  it('puts a typed identity on ctx.state.peer and audits PEER_IDENTIFIED', async () => {
    const harness = createApp();
    const { port } = await httpsServer(harness);
    const answer = await get(port, withClient(), undefined, '/');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      subject: 'CN=svc+UID=42,O=Acme',
      spiffeId: 'spiffe://example.org/ns/prod/sa/api',
      source: 'tls',
    });
    const peer = harness.peers[0] as PeerIdentity;
    expect(peer.verifiedBy).toBe('tls-handshake');
    expect(peer.fingerprint256).toBe(client.fingerprint256);
    expect(peer.serialNumber).toBe(client.serialNumber);
    expect(peer.issuerChain).toEqual([intermediate.fingerprint256, root.fingerprint256]);
    expect(peer.pem).toBe(client.certificate);
    expect(Object.isFrozen(peer)).toBe(true);
    expect(lastEvent(harness)).toMatchObject({
      kind: 'identity',
      outcome: 'allow',
      reason: 'PEER_IDENTIFIED',
      peer: {
        'tls.client.subject': 'CN=svc+UID=42,O=Acme',
        'koa_mtls.spiffe_id': 'spiffe://example.org/ns/prod/sa/api',
      },
    });
  });

  it('also works when the server rejects unauthorized clients itself', async () => {
    const harness = createApp();
    const { port } = await httpsServer(harness, true);
    expect(JSON.parse((await get(port, withClient())).body)).toMatchObject({ subject: 'CN=svc+UID=42,O=Acme' });
  });

  it('accepts a certificate without an EKU extension', async () => {
    const noEku = await intermediate.issueClient({ subject: 'CN=no-eku', extendedKeyUsage: null });
    const harness = createApp();
    const { port } = await httpsServer(harness);
    const answer = await get(port, { ca: root.root, cert: noEku.chain, key: noEku.key });
    expect(JSON.parse(answer.body)).toMatchObject({ subject: 'CN=no-eku' });
  });

  it('removes an identity an earlier middleware put on ctx.state.peer when there is no peer', async () => {
    const harness = createApp();
    const { port } = await httpsServer(harness);
    const answer = await get(port, { ca: root.root }, undefined, '/preset');
    expect(JSON.parse(answer.body)).toEqual({ peer: null });
  });
});

describe('when the TLS peer has no usable certificate', () => {
  it.each([
    ['no certificate', async () => ({ ca: root.root }), 'PEER_NO_CERTIFICATE', undefined],
    [
      'a certificate from an unknown CA',
      async () => {
        const other = await createCertificateAuthority();
        const stranger = await other.issueClient({ subject: 'CN=svc+UID=42,O=Acme' });
        return { ca: root.root, cert: stranger.certificate, key: stranger.key };
      },
      'PEER_UNAUTHORIZED',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ],
    [
      'a self-signed CA certificate (readable, but unverified)',
      async () => {
        const self = await createCertificateAuthority({ subject: 'CN=svc+UID=42,O=Acme' });
        return { ca: root.root, cert: self.certificate, key: self.key };
      },
      'PEER_UNAUTHORIZED',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    ],
    [
      'a serverAuth-only certificate',
      async () => {
        const serverOnly = await intermediate.issueClient({ extendedKeyUsage: ['serverAuth'] });
        return { ca: root.root, cert: serverOnly.chain, key: serverOnly.key };
      },
      'PEER_UNAUTHORIZED',
      'INVALID_PURPOSE',
    ],
  ])('leaves ctx.state.peer undefined for %s and audits the reason', async (_label, credentials, reason, tlsError) => {
    const harness = createApp();
    const { port } = await httpsServer(harness);
    const answer = await get(port, await credentials());
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ peer: null });
    expect(harness.peers).toEqual([undefined]);
    const event = lastEvent(harness);
    expect(event).toMatchObject({ kind: 'identity', outcome: 'reject', reason });
    expect(event?.detail?.authorizationError).toBe(tlsError);
  });

  it('gives no peer (and no crash) for a verified certificate with a huge SAN list', async () => {
    const dns = Array.from({ length: 300 }, (_, i) => `host${i}.example.com`);
    const huge = await intermediate.issueClient({ subject: 'CN=huge', san: { dns } });
    const harness = createApp();
    const { port } = await httpsServer(harness);
    const answer = await get(port, { ca: root.root, cert: huge.chain, key: huge.key });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ peer: null });
    expect(lastEvent(harness)).toMatchObject({ outcome: 'reject', reason: 'PEER_TOO_MANY_SANS' });
  });

  it('reports PEER_NOT_TLS on a plain HTTP server', async () => {
    const harness = createApp();
    const plain = http.createServer(harness.app.callback());
    servers.push(plain);
    const port = await listen(plain);
    const body = await (await fetch(`http://127.0.0.1:${port}/preset`)).text();
    expect(JSON.parse(body)).toEqual({ peer: null });
    expect(lastEvent(harness)).toMatchObject({ outcome: 'reject', reason: 'PEER_NOT_TLS' });
  });
});

describe('when a connection is kept alive', () => {
  it('reads the peer certificate once per connection', async () => {
    const harness = createApp();
    const { port, counter } = await httpsServer(harness);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ...withClient(), servername: 'localhost' });
    for (let i = 0; i < 5; i += 1) expect((await get(port, withClient(), agent)).status).toBe(200);
    agent.destroy();
    expect(harness.peers.every((peer) => peer?.spiffeId === 'spiffe://example.org/ns/prod/sa/api')).toBe(true);
    expect(counter).toEqual({ calls: 2, leaf: 1, chain: 1 });
    expect(new Set(harness.peers).size).toBe(1);
  });

  it('stops yielding the peer once the certificate expires mid-connection (fake clock)', async () => {
    let clock = Date.now();
    const shortLived = await intermediate.issueClient({
      subject: 'CN=short',
      notBefore: new Date(clock - 60_000),
      notAfter: new Date(clock + 60_000),
    });
    const harness = createApp({ now: () => clock });
    const { port } = await httpsServer(harness);
    const credentials = { ca: root.root, cert: shortLived.chain, key: shortLived.key };
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ...credentials, servername: 'localhost' });
    expect(JSON.parse((await get(port, credentials, agent)).body)).toMatchObject({ subject: 'CN=short' });
    clock += 120_000;
    expect(JSON.parse((await get(port, credentials, agent)).body)).toEqual({ peer: null });
    agent.destroy();
    expect(lastEvent(harness)).toMatchObject({
      outcome: 'reject',
      reason: 'PEER_CERTIFICATE_EXPIRED',
      peer: { 'tls.client.subject': 'CN=short' },
    });
  });

  it('treats a not-yet-valid certificate (clock behind) as no peer', async () => {
    const harness = createApp({ now: () => Date.now() - 86_400_000 });
    const { port } = await httpsServer(harness);
    expect(JSON.parse((await get(port, withClient())).body)).toEqual({ peer: null });
    expect(lastEvent(harness)).toMatchObject({ reason: 'PEER_CERTIFICATE_NOT_YET_VALID' });
  });
});

describe('when the same certificate comes back on new connections', () => {
  it('recognizes it from the TLS session, without reading it again, and returns the identity verified the first time', async () => {
    const harness = createApp();
    const { port, counter } = await httpsServer(harness);
    await get(port, withClient());
    await get(port, withClient());
    const [first, second] = harness.peers as [PeerIdentity, PeerIdentity];
    expect(counter).toEqual({ calls: 2, leaf: 1, chain: 1 });
    expect(first).toBe(second);
  });

  it('re-parses when the cache is disabled', async () => {
    const harness = createApp({ cacheSize: 0 });
    const { port } = await httpsServer(harness);
    await get(port, withClient());
    await get(port, withClient());
    const [first, second] = harness.peers as [PeerIdentity, PeerIdentity];
    expect(first.subject).not.toBe(second.subject);
    expect(first.subject.toString()).toBe(second.subject.toString());
  });
});

describe('when serving HTTP/2 (with allowHTTP1)', () => {
  it('identifies the peer on every stream, reading the certificate once per session, and on HTTP/1.1 too', async () => {
    const harness = createApp();
    const instance = http2.createSecureServer(
      {
        key: server.key,
        cert: server.certificate,
        ca: root.root,
        requestCert: true,
        rejectUnauthorized: false,
        allowHTTP1: true,
      },
      harness.app.callback(),
    );
    servers.push(instance);
    const counter = countPeerCertificateCalls(instance);
    const port = await listen(instance);
    const session = await http2Session(port, withClient());
    const answers = await Promise.all([session.get(), session.get(), session.get()]);
    await session.close();
    for (const answer of answers) {
      expect(JSON.parse(answer.body)).toMatchObject({ subject: 'CN=svc+UID=42,O=Acme', source: 'tls' });
    }
    expect(counter).toEqual({ calls: 2, leaf: 1, chain: 1 });
    expect(JSON.parse((await get(port, withClient())).body)).toMatchObject({ subject: 'CN=svc+UID=42,O=Acme' });
    expect(counter).toEqual({ calls: 2, leaf: 1, chain: 1 });
    const anonymous = await http2Session(port, { ca: root.root });
    expect(JSON.parse((await anonymous.get()).body)).toEqual({ peer: null });
    await anonymous.close();
    expect(lastEvent(harness)).toMatchObject({ reason: 'PEER_NO_CERTIFICATE' });
  });
});

describe('when the audit hook misbehaves or a request id is present', () => {
  it('fails the request (500) without running the handler when the hook throws', async () => {
    const harness = createApp({
      onAudit: () => {
        throw new Error('hook down');
      },
    });
    harness.app.silent = true;
    const { port } = await httpsServer(harness);
    const answer = await get(port, withClient());
    expect(answer.status).toBe(500);
    expect(answer.body).toBe('Internal Server Error');
    expect(harness.handled).toBe(0);
  });

  it('puts the x-request-id in the event', async () => {
    const harness = createApp();
    const { port } = await httpsServer(harness);
    await httpsGet({ port, headers: { 'x-request-id': 'req-7' }, ...withClient() });
    expect(lastEvent(harness)).toMatchObject({ requestId: 'req-7', reason: 'PEER_IDENTIFIED' });
  });
});

describe('when the options are wrong', () => {
  it.each([
    [{ onAudit: 'log' }, 'peerCertificate.onAudit'],
    [{ now: 1 }, 'peerCertificate.now'],
    [{ cacheSize: -1 }, 'peerCertificate.cacheSize'],
    [{ cacheSize: 1.5 }, 'peerCertificate.cacheSize'],
    [{ maxSubjectAltNames: 0 }, 'peerCertificate.maxSubjectAltNames'],
    [{ cachesize: 10 }, 'peerCertificate.cachesize'],
  ])('throws InvalidOptionError for %j at %s', (options, path) => {
    expect(() => peerCertificate(options as PeerCertificateOptions)).toThrow(InvalidOptionError);
    try {
      peerCertificate(options as PeerCertificateOptions);
    } catch (error) {
      expect((error as InvalidOptionError).path).toBe(path);
    }
  });

  it('rejects a non-object', () => {
    expect(() => peerCertificate(null as unknown as PeerCertificateOptions)).toThrow(InvalidOptionError);
  });

  it('does not mutate the caller options', () => {
    const options = Object.freeze({ cacheSize: 5 });
    expect(() => peerCertificate(options)).not.toThrow();
  });
});

describe('when user code reads ctx.state.peer', () => {
  it('is typed as PeerIdentity | undefined through the Koa DefaultState augmentation', () => {
    const app = new Koa();
    app.use((ctx) => {
      expectTypeOf(ctx.state.peer).toEqualTypeOf<PeerIdentity | undefined>();
    });
    expect(app.middleware).toHaveLength(1);
  });
});
