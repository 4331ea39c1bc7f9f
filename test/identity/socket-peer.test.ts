import { X509Certificate } from 'node:crypto';
import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { CertificateReader } from '../../src/identity/certificate-reader.js';
import { SocketPeers } from '../../src/identity/socket-peer.js';
import { createCertificateAuthority } from '../../src/pki/index.js';
import { createTrust } from '../../src/trust/index.js';
import { trustState } from '../../src/trust/trust.js';
import { buildCertificate, extension, tlv } from './helpers/der-builder.js';

interface FakeCertificate {
  raw?: Buffer;
  issuerCertificate?: FakeCertificate;
}

function contextFor(socket: Record<string, unknown>): Context {
  return { req: { socket } } as unknown as Context;
}

function tlsSocket(peer: FakeCertificate | (() => never), authorized = true) {
  const calls = { count: 0 };
  const socket = {
    encrypted: true,
    authorized,
    authorizationError: authorized ? null : 'CERT_UNTRUSTED',
    getPeerCertificate: () => {
      calls.count += 1;
      return typeof peer === 'function' ? peer() : peer;
    },
    getPeerX509Certificate: () => undefined,
  };
  return { socket, calls };
}

const peers = () => new SocketPeers(new CertificateReader(10, 16), undefined, 10);

describe('when the runtime reports an odd TLS socket', () => {
  it('treats authorized === true without certificate bytes as no certificate (Deno/Bun divergence)', () => {
    const { socket } = tlsSocket({});
    expect(peers().peerOf(contextFor(socket), Date.now())).toMatchObject({ ok: false, reason: 'PEER_NO_CERTIFICATE' });
  });

  it('does not trust a socket that is not TLS', () => {
    expect(peers().peerOf(contextFor({ remoteAddress: '127.0.0.1' }), Date.now())).toMatchObject({
      ok: false,
      reason: 'PEER_NOT_TLS',
    });
  });

  it('fails closed without caching when reading the certificate throws (destroyed socket)', () => {
    const { socket, calls } = tlsSocket(() => {
      throw new Error('socket destroyed');
    });
    const resolver = peers();
    expect(resolver.peerOf(contextFor(socket), Date.now())).toMatchObject({ ok: false, reason: 'PEER_NO_CERTIFICATE' });
    resolver.peerOf(contextFor(socket), Date.now());
    expect(calls.count).toBe(2);
  });
});

describe('when the verified certificate cannot be a peer', () => {
  it.each([
    ['unparsable bytes', Buffer.from([0x30, 0x03, 0x01]), 'PEER_CERTIFICATE_UNPARSABLE'],
    [
      'an unknown critical extension',
      Buffer.from(buildCertificate({ extensions: [extension('1.2.3.4', true, tlv(0x05, []))] })),
      'PEER_UNKNOWN_CRITICAL_EXTENSION',
    ],
  ])('reports %s once per connection', (_label, raw, reason) => {
    const { socket, calls } = tlsSocket({ raw });
    const resolver = peers();
    expect(resolver.peerOf(contextFor(socket), Date.now())).toMatchObject({ ok: false, reason });
    resolver.peerOf(contextFor(socket), Date.now());
    expect(calls.count).toBe(1);
  });
});

describe('when walking the issuer chain', () => {
  it('stops at a self-referencing root and at repeats, and lists nothing that did not sign the path', () => {
    const rootCertificate: FakeCertificate = { raw: Buffer.from('root') };
    rootCertificate.issuerCertificate = rootCertificate;
    const intermediate: FakeCertificate = { raw: Buffer.from('intermediate'), issuerCertificate: rootCertificate };
    const { socket } = tlsSocket({ raw: Buffer.from(buildCertificate()), issuerCertificate: intermediate });
    const peer = peers().peerOf(contextFor(socket), Date.now());
    expect(peer.ok && peer.identity.issuerChain).toEqual([]);
  });
});

describe('when the trust changes after a certificate was verified', () => {
  it('verifies the certificate again on a new connection, and refuses it when the new anchors do not issue it', async () => {
    const issuer = await createCertificateAuthority({ subject: 'CN=issuer' });
    const other = await createCertificateAuthority({ subject: 'CN=other' });
    const leaf = await issuer.issueClient({ san: { uri: ['spiffe://example.org/api'] } });
    const raw = Buffer.from(new X509Certificate(leaf.certificate).raw);
    const trust = createTrust({ ca: issuer.root });
    const resolver = new SocketPeers(new CertificateReader(10, 16), trustState(trust, 'test'), 10);

    const first = tlsSocket({ raw });
    expect(resolver.peerOf(contextFor(first.socket), Date.now())).toMatchObject({ ok: true });
    const again = tlsSocket({ raw });
    expect(resolver.peerOf(contextFor(again.socket), Date.now())).toMatchObject({ ok: true });
    // Known: the leaf alone was read (getPeerCertificate(false)), not the chain.
    expect(again.calls.count).toBe(1);

    trust.update({ ca: other.root });
    const afterChange = tlsSocket({ raw });
    expect(resolver.peerOf(contextFor(afterChange.socket), Date.now())).toMatchObject({
      ok: false,
      reason: 'PEER_CHAIN_UNTRUSTED',
    });
    expect(afterChange.calls.count).toBe(2);
  });
});
