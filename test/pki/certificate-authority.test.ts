import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KoaMtlsError } from '../../src/errors.js';
import { createCertificateAuthority, loadCertificateAuthority, toPkcs12 } from '../../src/pki/index.js';
import { externalTools } from '../helpers/external-tools.js';
import { httpsGet } from '../helpers/https-client.js';
import { close, listen } from '../helpers/listen.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const { path: dir, dispose: removeDir } = temporaryDirectory('pki');
afterAll(() => removeDir());

const hasOpenssl = externalTools('the openssl checks', ['openssl']);

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

/** Answers `authorized authorizationError` for one request with the given client certificate. */
async function handshake(
  server: { key: string; cert: string; ca: string; crl?: string },
  client: { key: string; cert: string },
): Promise<string> {
  const srv = https.createServer({ ...server, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as import('node:tls').TLSSocket;
    res.end(`${socket.authorized} ${socket.authorizationError ?? ''}`.trim());
  });
  const port = await listen(srv);
  try {
    return (await httpsGet({ port, ca: server.ca, ...client })).body;
  } finally {
    await close(srv);
  }
}

describe('createCertificateAuthority', () => {
  it('makes a self-signed ECDSA P-256 root CA by default', async () => {
    const root = await createCertificateAuthority();
    const cert = new X509Certificate(root.certificate);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=koa-mtls development root CA');
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(root.root).toBe(root.certificate);
    expect(root.fingerprint256).toBe(cert.fingerprint256.replaceAll(':', '').toLowerCase());
  });

  it.skipIf(!hasOpenssl)(
    'issues a client certificate with a multi-valued RDN, repeated attributes and every SAN type',
    async () => {
      const root = await createCertificateAuthority();
      const client = await root.issueClient({
        subject: 'CN=svc+UID=42,CN=second,O=Acme',
        san: {
          dns: ['api.example.com, URI:spiffe://evil/x'],
          uri: ['spiffe://example.org/ns/prod/sa/api'],
          email: ['ops@example.com'],
          ip: ['192.0.2.7', '2001:db8::1'],
          upn: ['svc@example.com'],
        },
      });
      const text = openssl(
        ['x509', '-noout', '-subject', '-ext', 'subjectAltName,extendedKeyUsage', '-nameopt', 'RFC2253'],
        client.certificate,
      );
      // DER sorts the attributes of a SET OF, so UID (0.9.…) is encoded before CN (2.5.4.3).
      expect(text).toContain('subject=UID=42+CN=svc,CN=second,O=Acme');
      expect(text).toContain('DNS:api.example.com, URI:spiffe://evil/x');
      expect(text).toContain('URI:spiffe://example.org/ns/prod/sa/api');
      expect(text).toContain('email:ops@example.com');
      expect(text).toContain('IP Address:192.0.2.7');
      expect(text).toContain('IP Address:2001:DB8:0:0:0:0:0:1');
      expect(text).toContain('othername: UPN::svc@example.com');
      expect(text).toContain('TLS Web Client Authentication');
      expect(new X509Certificate(client.certificate).checkIssued(new X509Certificate(root.certificate))).toBe(true);
    },
  );

  it.skipIf(!hasOpenssl).each([
    ['serverAuth only', ['serverAuth'] as const, 'TLS Web Server Authentication'],
    ['both', ['serverAuth', 'clientAuth'] as const, 'TLS Web Server Authentication, TLS Web Client Authentication'],
  ])('writes the extended key usage %s', async (_, extendedKeyUsage, expected) => {
    const root = await createCertificateAuthority();
    const cert = await root.issueClient({ extendedKeyUsage });
    expect(openssl(['x509', '-noout', '-ext', 'extendedKeyUsage'], cert.certificate)).toContain(expected);
  });

  it.skipIf(!hasOpenssl)('leaves the EKU extension out when asked (extendedKeyUsage: null)', async () => {
    const root = await createCertificateAuthority();
    const cert = await root.issueClient({ extendedKeyUsage: null });
    expect(openssl(['x509', '-noout', '-text'], cert.certificate)).not.toContain('Extended Key Usage');
  });

  it.skipIf(!hasOpenssl)(
    'honours chosen validity, serial, key algorithm and a SHA-1 signature for negative tests',
    async () => {
      const root = await createCertificateAuthority();
      const notBefore = new Date('2020-01-01T00:00:00Z');
      const notAfter = new Date('2020-02-01T00:00:00Z');
      const expired = await root.issueClient({
        notBefore,
        notAfter,
        serialNumber: '0A:BC:DE',
        keyAlgorithm: 'rsa-1024',
        signatureHash: 'SHA-1',
      });
      const cert = new X509Certificate(expired.certificate);
      expect(new Date(cert.validFrom).toISOString()).toBe(notBefore.toISOString());
      expect(new Date(cert.validTo).toISOString()).toBe(notAfter.toISOString());
      expect(expired.serialNumber).toBe('abcde');
      expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(1024);
      expect(openssl(['x509', '-noout', '-text'], expired.certificate)).toContain('ecdsa-with-SHA1');
    },
  );

  it.skipIf(!hasOpenssl)('signs with SHA-1 under an RSA issuer too', async () => {
    const root = await createCertificateAuthority({ keyAlgorithm: 'rsa-2048' });
    const cert = await root.issueClient({ signatureHash: 'SHA-1' });
    expect(openssl(['x509', '-noout', '-text'], cert.certificate)).toContain('sha1WithRSAEncryption');
    expect(new X509Certificate(cert.certificate).verify(new X509Certificate(root.certificate).publicKey)).toBe(true);
  });

  it('chains a leaf through an intermediate, and the chain PEM carries the intermediate', async () => {
    const root = await createCertificateAuthority();
    const intermediate = await root.createIntermediate();
    const client = await intermediate.issueClient();
    expect(intermediate.root).toBe(root.certificate);
    expect(client.chain).toContain(intermediate.certificate.trim());
    expect(client.chain).not.toContain(root.certificate.trim());
    const server = await root.issueServer();
    await expect(
      handshake({ key: server.key, cert: server.certificate, ca: root.root }, { key: client.key, cert: client.chain }),
    ).resolves.toBe('true');
  });

  it.each([
    ['a subject without "="', { subject: 'CN' }],
    ['an unknown attribute type', { subject: 'XX=1' }],
    ['a serial that is not hex', { serialNumber: 'zz' }],
    ['notAfter before notBefore', { notBefore: new Date('2030-01-01'), notAfter: new Date('2029-01-01') }],
    ['a validity of zero days', { validityDays: 0 }],
  ])('refuses %s with ERR_PKI_INVALID_INPUT', async (_, options) => {
    const root = await createCertificateAuthority();
    const pending = root.issueClient(options);
    await expect(pending).rejects.toBeInstanceOf(KoaMtlsError);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_PKI_INVALID_INPUT' });
  });
});

describe('createCrl', () => {
  it('revokes chosen serials in a CRL that Node (OpenSSL) accepts', async () => {
    const root = await createCertificateAuthority();
    const server = await root.issueServer();
    const good = await root.issueClient();
    const revoked = await root.issueClient();
    const crl = await root.createCrl({ revoked: [{ serialNumber: revoked.serialNumber }] });
    expect(crl).toMatch(/^-----BEGIN X509 CRL-----/);
    const config = { key: server.key, cert: server.certificate, ca: root.root, crl };
    await expect(handshake(config, { key: good.key, cert: good.certificate })).resolves.toBe('true');
    await expect(handshake(config, { key: revoked.key, cert: revoked.certificate })).resolves.toBe(
      'false CERT_REVOKED',
    );
  });

  it('makes an expired CRL when nextUpdate is in the past', async () => {
    const root = await createCertificateAuthority();
    const server = await root.issueServer();
    const client = await root.issueClient();
    const crl = await root.createCrl({
      thisUpdate: new Date(Date.now() - 7_200_000),
      nextUpdate: new Date(Date.now() - 3_600_000),
    });
    await expect(
      handshake(
        { key: server.key, cert: server.certificate, ca: root.root, crl },
        { key: client.key, cert: client.certificate },
      ),
    ).resolves.toBe('false CRL_HAS_EXPIRED');
  });
});

describe('loadCertificateAuthority', () => {
  it('issues from a CA loaded from its PEM files', async () => {
    const root = await createCertificateAuthority({ keyAlgorithm: 'ec-p384' });
    const loaded = await loadCertificateAuthority({ certificate: root.certificate, key: root.key });
    const client = await loaded.issueClient();
    expect(new X509Certificate(client.certificate).checkIssued(new X509Certificate(root.certificate))).toBe(true);
  });

  it('refuses a key that is not PEM', async () => {
    const root = await createCertificateAuthority();
    await expect(loadCertificateAuthority({ certificate: root.certificate, key: 'nope' })).rejects.toMatchObject({
      code: 'ERR_PKI_INVALID_INPUT',
    });
  });
});

describe('toPkcs12', () => {
  it.skipIf(!hasOpenssl)(
    'packs an RSA client certificate and key that openssl reads back with the password',
    async () => {
      const root = await createCertificateAuthority();
      const client = await root.issueClient({ keyAlgorithm: 'rsa-2048' });
      const file = join(dir, 'client.p12');
      writeFileSync(file, toPkcs12(client, { password: 'changeit' }));
      const out = openssl(['pkcs12', '-in', file, '-passin', 'pass:changeit', '-nokeys', '-clcerts']);
      expect(out).toContain('friendlyName: koa-mtls client');
      expect(() => openssl(['pkcs12', '-in', file, '-passin', 'pass:wrong', '-nokeys'])).toThrow();
    },
  );

  it('refuses an EC key with a clear error (node-forge reads RSA only)', async () => {
    const root = await createCertificateAuthority();
    const client = await root.issueClient();
    expect(() => toPkcs12(client, { password: 'x' })).toThrow(/needs an RSA certificate/);
  });
});

describe('names and addresses that @peculiar/x509 would misread (found by fuzzing)', () => {
  it('issues IPv6 SANs with an embedded IPv4 part as the address given', async () => {
    const root = await createCertificateAuthority();
    const cert = await root.issueClient({ san: { ip: ['::ffff:1.2.3.4', '64:ff9b::192.0.2.33'] } });
    expect(new X509Certificate(cert.certificate).subjectAltName).toBe(
      'IP Address:0:0:0:0:0:FFFF:102:304, IP Address:64:FF9B:0:0:0:0:C000:221',
    );
  });

  it('issues subject values with a backslash, quotes or a leading "#" unchanged', async () => {
    const root = await createCertificateAuthority();
    const cert = await root.issueClient({ subject: [[['O', '""']], [['OU', '#not-hex']], [['CN', 'C:\\temp\\svc']]] });
    expect(new X509Certificate(cert.certificate).subject).toBe('O=\\"\\"\nOU=\\#not-hex\nCN=C:\\\\temp\\\\svc');
  });

  it('refuses an IP SAN that is not an address', async () => {
    const root = await createCertificateAuthority();
    await expect(root.issueClient({ san: { ip: ['300.1.1.1'] } })).rejects.toMatchObject({
      code: 'ERR_PKI_INVALID_INPUT',
    });
  });
});
