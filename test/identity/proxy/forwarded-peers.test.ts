import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/errors.js';
import { CertificateReader } from '../../../src/identity/certificate-reader.js';
import {
  compileVerification,
  ForwardedPeers,
  type ForwardedVerificationOptions,
} from '../../../src/identity/proxy/forwarded-peers.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
} from '../../../src/pki/index.js';

let root: CertificateAuthority;
let intermediate: CertificateAuthority;
let client: IssuedCertificate;
let direct: IssuedCertificate;

const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);

function resolver(options: Partial<ForwardedVerificationOptions> = {}) {
  const reader = new CertificateReader(100, 64);
  return new ForwardedPeers(reader, compileVerification({ ca: root.root, ...options }, 'verify'), 100);
}

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=Forward Root,O=Acme' });
  intermediate = await root.createIntermediate({ subject: 'CN=Forward Intermediate,O=Acme' });
  client = await intermediate.issueClient({ subject: 'CN=fwd', san: { uri: ['spiffe://example.org/ns/a/sa/b'] } });
  direct = await root.issueClient({ subject: 'CN=direct' });
});

describe('when the forwarded certificate chains to the app trust anchors', () => {
  it('yields an identity verified by the app, with the issuer chain', () => {
    const outcome = resolver().resolve('xfcc', der(client.certificate), [der(intermediate.certificate)], Date.now());
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.identity.verifiedBy).toBe('app');
    expect(outcome.identity.source).toBe('xfcc');
    expect(outcome.identity.spiffeId).toBe('spiffe://example.org/ns/a/sa/b');
    expect(outcome.identity.issuerChain).toEqual([intermediate.fingerprint256, root.fingerprint256]);
  });

  it('accepts a chain that repeats the leaf (Envoy XFCC Chain includes it)', () => {
    const chain = [der(client.certificate), der(intermediate.certificate)];
    expect(resolver().resolve('xfcc', der(client.certificate), chain, Date.now()).ok).toBe(true);
  });

  it('uses intermediates the app was configured with', () => {
    const outcome = resolver({ intermediates: intermediate.certificate }).resolve(
      'header',
      der(client.certificate),
      [],
      Date.now(),
    );
    expect(outcome.ok).toBe(true);
  });

  it('caches the verification: the same identity object comes back', () => {
    const forwarded = resolver();
    const first = forwarded.resolve('xfcc', der(client.certificate), [der(intermediate.certificate)], Date.now());
    const second = forwarded.resolve('xfcc', der(client.certificate), [der(intermediate.certificate)], Date.now());
    expect(first.ok && second.ok && first.identity === second.identity).toBe(true);
  });
});

describe('when re-verification fails', () => {
  it.each([
    ['the intermediate is missing', async () => ({ leaf: client.certificate, chain: [] }), 'PROXY_CHAIN_UNTRUSTED'],
    [
      'the certificate comes from another CA',
      async () => {
        const other = await createCertificateAuthority({ subject: 'CN=Forward Root,O=Acme' });
        return { leaf: (await other.issueClient({ subject: 'CN=fwd' })).certificate, chain: [] };
      },
      'PROXY_CHAIN_UNTRUSTED',
    ],
    [
      'the forwarded chain brings its own root with the trusted DN',
      async () => {
        const fake = await createCertificateAuthority({ subject: 'CN=Forward Root,O=Acme' });
        const fakeIntermediate = await fake.createIntermediate({ subject: 'CN=Forward Intermediate,O=Acme' });
        const forged = await fakeIntermediate.issueClient({ subject: 'CN=fwd' });
        return { leaf: forged.certificate, chain: [fakeIntermediate.certificate, fake.certificate] };
      },
      'PROXY_CHAIN_UNTRUSTED',
    ],
    [
      'a leaf (not a CA) poses as the issuer',
      async () => {
        const leafIssuer = await root.issueClient({ subject: 'CN=Forward Intermediate,O=Acme' });
        return { leaf: client.certificate, chain: [leafIssuer.certificate] };
      },
      'PROXY_CHAIN_UNTRUSTED',
    ],
    [
      'the certificate is serverAuth-only',
      async () => ({ leaf: (await root.issueClient({ extendedKeyUsage: ['serverAuth'] })).certificate, chain: [] }),
      'PEER_EKU_NOT_CLIENT_AUTH',
    ],
    [
      'the certificate has expired',
      async () => ({
        leaf: (
          await root.issueClient({
            notBefore: new Date(Date.now() - 86_400_000),
            notAfter: new Date(Date.now() - 1000),
          })
        ).certificate,
        chain: [],
      }),
      'PEER_CERTIFICATE_EXPIRED',
    ],
    [
      'the certificate is signed with SHA-1',
      async () => ({ leaf: (await root.issueClient({ signatureHash: 'SHA-1' })).certificate, chain: [] }),
      'PROXY_WEAK_SIGNATURE',
    ],
  ])('gives no peer when %s', async (_label, make, reason) => {
    const { leaf, chain } = await make();
    const outcome = resolver().resolve('xfcc', der(leaf), chain.map(der), Date.now());
    expect(outcome).toMatchObject({ ok: false, reason });
  });

  it('refuses an RSA-1024 key', async () => {
    const weak = await root.issueClient({ keyAlgorithm: 'rsa-1024' });
    expect(resolver().resolve('xfcc', der(weak.certificate), [], Date.now())).toMatchObject({
      ok: false,
      reason: 'PROXY_WEAK_KEY',
    });
  });

  it('refuses a path longer than maxChainLength', () => {
    const outcome = resolver({ maxChainLength: 1 }).resolve(
      'xfcc',
      der(client.certificate),
      [der(intermediate.certificate)],
      Date.now(),
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'PROXY_CHAIN_UNTRUSTED' });
  });

  it('reports an unparsable forwarded chain certificate', () => {
    const outcome = resolver().resolve('xfcc', der(client.certificate), [Uint8Array.from([0x30, 0])], Date.now());
    expect(outcome).toMatchObject({ ok: false, reason: 'PEER_CERTIFICATE_UNPARSABLE' });
  });
});

describe('when CRLs are configured', () => {
  it('accepts an unrevoked certificate and refuses a revoked one', async () => {
    const crl = await root.createCrl({ revoked: [{ serialNumber: direct.serialNumber }] });
    const other = await root.issueClient({ subject: 'CN=other' });
    const forwarded = resolver({ crl });
    expect(forwarded.resolve('xfcc', der(other.certificate), [], Date.now()).ok).toBe(true);
    expect(forwarded.resolve('xfcc', der(direct.certificate), [], Date.now())).toMatchObject({
      ok: false,
      reason: 'PROXY_CERTIFICATE_REVOKED',
    });
  });

  it('fails closed when a CA of the path has no CRL (like OpenSSL CRL_CHECK_ALL)', async () => {
    const rootCrl = await root.createCrl();
    const outcome = resolver({ crl: rootCrl }).resolve(
      'xfcc',
      der(client.certificate),
      [der(intermediate.certificate)],
      Date.now(),
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'PROXY_CRL_UNAVAILABLE' });
    const both = [rootCrl, await intermediate.createCrl()];
    expect(
      resolver({ crl: both }).resolve('xfcc', der(client.certificate), [der(intermediate.certificate)], Date.now()).ok,
    ).toBe(true);
  });

  it('refuses a CRL signed by someone else', async () => {
    const impostor = await createCertificateAuthority({ subject: 'CN=Forward Root,O=Acme' });
    const outcome = resolver({ crl: await impostor.createCrl() }).resolve(
      'xfcc',
      der(direct.certificate),
      [],
      Date.now(),
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'PROXY_CRL_UNAVAILABLE' });
  });

  it('stops accepting once the CRL is past its nextUpdate', async () => {
    const now = Date.now();
    const crl = await root.createCrl({ thisUpdate: new Date(now - 3_600_000), nextUpdate: new Date(now + 60_000) });
    const forwarded = resolver({ crl });
    expect(forwarded.resolve('xfcc', der(direct.certificate), [], now).ok).toBe(true);
    expect(forwarded.resolve('xfcc', der(direct.certificate), [], now + 120_000)).toMatchObject({
      ok: false,
      reason: 'PROXY_CHAIN_EXPIRED',
    });
  });
});

describe('when the verify options are wrong', () => {
  it.each([
    [{}, 'verify.ca'],
    [{ ca: [] }, 'verify.ca'],
    [{ ca: 'not pem' }, 'verify.ca[0]'],
    [{ ca: 'ROOT', crl: 'not a crl' }, 'verify.crl[0]'],
    [{ ca: 'ROOT', minRsaBits: 512 }, 'verify.minRsaBits'],
    [{ ca: 'ROOT', maxChainLength: 0 }, 'verify.maxChainLength'],
    [{ ca: 'ROOT', anchors: [] }, 'verify.anchors'],
  ])('throws InvalidOptionError for %j at %s', (options, path) => {
    const withRoot = { ...options, ...('ca' in options && options.ca === 'ROOT' ? { ca: root.root } : {}) };
    expect(() => compileVerification(withRoot, 'verify')).toThrow(InvalidOptionError);
    try {
      compileVerification(withRoot, 'verify');
    } catch (error) {
      expect((error as InvalidOptionError).path).toBe(path);
    }
  });
});
