import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createIdentity } from '../../src/identity/create-identity.js';
import { parseCertificate } from '../../src/identity/parse-certificate.js';
import { summarizePeer } from '../../src/identity/summarize-peer.js';
import { createCertificateAuthority } from '../../src/pki/index.js';

describe('when summarizing a peer for an audit event', () => {
  it('uses OpenTelemetry tls.client.* names and omits an absent SPIFFE ID', async () => {
    const root = await createCertificateAuthority({ subject: 'CN=Root' });
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date('2026-02-01T00:00:00Z');
    for (const uri of [['spiffe://example.org/a'], []]) {
      const issued = await root.issueClient({ subject: 'CN=a\\,b', san: { uri }, notBefore, notAfter });
      const parsed = parseCertificate(new X509Certificate(issued.certificate).raw, { maxSubjectAltNames: 8 });
      const summary = summarizePeer(
        createIdentity(parsed, { source: 'xfcc', verifiedBy: 'app', issuerChain: [], spiffeId: parsed.spiffeId }),
      );
      expect(summary).toEqual({
        'tls.client.subject': 'CN=a\\,b',
        'tls.client.issuer': 'CN=Root',
        'tls.client.hash.sha256': issued.fingerprint256.toUpperCase(),
        'tls.client.not_before': '2026-01-01T00:00:00.000Z',
        'tls.client.not_after': '2026-02-01T00:00:00.000Z',
        'koa_mtls.source': 'xfcc',
        'koa_mtls.verified_by': 'app',
        ...(uri.length === 0 ? {} : { 'koa_mtls.spiffe_id': 'spiffe://example.org/a' }),
      });
    }
  });
});
