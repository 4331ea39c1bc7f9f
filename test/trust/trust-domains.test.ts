/**
 * One bundle per SPIFFE trust domain (SPIFFE Federation §7.3): a SPIFFE ID counts only when the verified path ends
 * at its own domain's bundle. A partner CA that is trusted for its own domain cannot mint `spiffe://example.org/…`.
 * Real TLS on loopback; the forwarded-certificate path is covered by the same engine in verify-chain tests.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../../src/authz/index.js';
import { InvalidOptionError } from '../../src/errors.js';
import { peerCertificate } from '../../src/identity/peer-certificate.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { watchCertificates } from '../../src/tls/certificate-watcher.js';
import { mtlsOptions } from '../../src/tls/mtls-options.js';
import { createTrust, type Trust } from '../../src/trust/trust.js';
import { close, listen } from '../helpers/listen.js';
import { get } from '../identity/helpers/tls.js';

const ID = 'spiffe://example.org/ns/payments/sa/api';
let example: CertificateAuthority;
let partner: CertificateAuthority;
let corporate: CertificateAuthority;
let serverRoot: CertificateAuthority;
let server: IssuedCertificate;

beforeAll(async () => {
  example = await createCertificateAuthority({ subject: 'CN=example.org SPIRE root' });
  partner = await createCertificateAuthority({ subject: 'CN=partner.com SPIRE root' });
  corporate = await createCertificateAuthority({ subject: 'CN=Corporate root' });
  serverRoot = await createCertificateAuthority({ subject: 'CN=Server root' });
  server = await serverRoot.issueServer();
});

/** A server whose only route requires the SPIFFE ID `spiffe`; it answers with the peer's spiffeId. */
async function serve(trust: Trust, spiffe: string) {
  const app = new Koa();
  let runs = 0;
  app.use(peerCertificate({ trust }));
  app.use(requirePeer({ spiffe }));
  app.use((ctx) => {
    runs += 1;
    ctx.body = String(ctx.state.peer?.spiffeId);
  });
  const httpsServer = https.createServer(
    mtlsOptions({ key: server.key, cert: server.certificate, trust, onWarning: () => {} }),
    app.callback(),
  );
  const port = await listen(httpsServer);
  return { port, httpsServer, runs: () => runs, stop: () => close(httpsServer) };
}

const as = (client: IssuedCertificate) => ({ ca: serverRoot.root, cert: client.certificate, key: client.key });

describe('when trust domains are configured', () => {
  let trust: Trust;
  beforeAll(() => {
    trust = createTrust({
      ca: corporate.root,
      trustDomains: { 'example.org': example.root, 'partner.com': partner.root },
    });
  });

  it('lists the trust domain names and gives OpenSSL the union of the anchors', () => {
    expect(trust.trustDomainNames).toEqual(['example.org', 'partner.com']);
    expect(trust.caPems).toHaveLength(3);
  });

  it.each([
    ['its own trust domain (example.org)', 200, () => example],
    ['a partner domain minting an example.org ID', 403, () => partner],
    ['an anchor not tied to a domain (ca) minting an example.org ID', 403, () => corporate],
  ])('an SVID signed by %s answers %i', async (_label, status, issuer) => {
    const client = await issuer().issueClient({ san: { uri: [ID] } });
    const running = await serve(trust, ID);
    try {
      const answer = await get(running.port, as(client));
      expect(answer.status).toBe(status);
      expect(answer.body).toBe(status === 200 ? ID : 'Forbidden');
      expect(running.runs()).toBe(status === 200 ? 1 : 0);
    } finally {
      await running.stop();
    }
  });

  it("keeps the partner's own IDs", async () => {
    const partnerId = 'spiffe://partner.com/ns/billing/sa/worker';
    const client = await partner.issueClient({ san: { uri: [partnerId] } });
    const running = await serve(trust, partnerId);
    try {
      expect(await get(running.port, as(client))).toEqual({ status: 200, body: partnerId });
    } finally {
      await running.stop();
    }
  });
});

describe('when only ca is configured (no trust domains)', () => {
  it('keeps the meaning of today: any anchor vouches for the SPIFFE ID', async () => {
    const trust = createTrust({ ca: [example.root, partner.root] });
    const client = await partner.issueClient({ san: { uri: [ID] } });
    const running = await serve(trust, ID);
    try {
      expect(await get(running.port, as(client))).toEqual({ status: 200, body: ID });
    } finally {
      await running.stop();
    }
  });
});

describe('when the trust changes', () => {
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'koa-mtls-trust-'));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('validates everything first: a bad update throws and keeps the old generation and anchors', () => {
    const trust = createTrust({ trustDomains: { 'example.org': example.root } });
    expect(() => trust.update({ trustDomains: { 'Example.ORG': example.root } })).toThrow(InvalidOptionError);
    expect(() => trust.update({ trustDomains: { 'example.org': 'not pem' } })).toThrow(InvalidOptionError);
    expect(trust.generation).toBe(1);
    expect(trust.trustDomainNames).toEqual(['example.org']);
  });

  it('bumps the generation and tells listeners on a real change only', () => {
    const trust = createTrust({ trustDomains: { 'example.org': example.root } });
    const seen: number[] = [];
    const unsubscribe = trust.onChange((changed) => seen.push(changed.generation));
    trust.update({ trustDomains: { 'example.org': example.root } });
    trust.update({ trustDomains: { 'example.org': example.root, 'partner.com': partner.root } });
    unsubscribe();
    trust.update({ trustDomains: { 'example.org': example.root } });
    expect(seen).toEqual([2]);
    expect(trust.generation).toBe(3);
  });

  it('re-reads bundle files on reload()', () => {
    const file = join(directory, 'bundle.pem');
    writeFileSync(file, example.root);
    const trust = createTrust({ trustDomains: { 'example.org': { file } } });
    expect(trust.files).toEqual([file]);
    expect(trust.reload()).toBe(false);
    writeFileSync(file, `${example.root}${partner.root}`);
    expect(trust.reload()).toBe(true);
    expect(trust.caPems).toHaveLength(2);
    writeFileSync(file, 'garbage');
    expect(() => trust.reload()).toThrow(InvalidOptionError);
    expect(trust.caPems).toHaveLength(2);
  });

  it('rotates a watched server: a new domain bundle is served without a restart', async () => {
    const trust = createTrust({ trustDomains: { 'example.org': example.root } });
    const partnerId = 'spiffe://partner.com/ns/billing/sa/worker';
    const client = await partner.issueClient({ san: { uri: [partnerId] } });
    const running = await serve(trust, partnerId);
    const watcher = watchCertificates(
      running.httpsServer,
      { key: server.key, cert: server.certificate, trust, onWarning: () => {} },
      { watch: false, onError: () => {} },
    );
    try {
      // The partner is not trusted yet: the handshake itself fails
      await expect(get(running.port, as(client))).rejects.toThrow();
      trust.update({ trustDomains: { 'example.org': example.root, 'partner.com': partner.root } });
      expect(await get(running.port, as(client))).toEqual({ status: 200, body: partnerId });
    } finally {
      watcher.close();
      await running.stop();
    }
  });
});
