/**
 * `createTrust` validates every input once, at startup, and names the option and the fix; `mtlsOptions` and
 * `peerCertificate` accept only a trust it made.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { peerCertificate } from '../../src/identity/peer-certificate.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { mtlsOptions } from '../../src/tls/mtls-options.js';
import { createTrust, type TrustOptions } from '../../src/trust/trust.js';

let root: CertificateAuthority;
let intermediate: CertificateAuthority;
let server: IssuedCertificate;
beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=Root' });
  intermediate = await root.createIntermediate({ subject: 'CN=Intermediate' });
  server = await root.issueServer();
});

describe('when the trust options are wrong', () => {
  const rows: readonly { name: string; options: () => unknown; path: string }[] = [
    { name: 'no anchor at all', options: () => ({}), path: 'createTrust.ca' },
    { name: 'an unknown option', options: () => ({ ca: root.root, anchors: [] }), path: 'createTrust.anchors' },
    { name: 'an empty ca list', options: () => ({ ca: [] }), path: 'createTrust.ca' },
    { name: 'text that is not PEM', options: () => ({ ca: 'hello' }), path: 'createTrust.ca[0]' },
    { name: 'a leaf among the anchors', options: () => ({ ca: server.certificate }), path: 'createTrust.ca[0]' },
    {
      name: 'a bundle without a self-signed root',
      options: () => ({ ca: intermediate.certificate }),
      path: 'createTrust.ca',
    },
    {
      name: 'a trust domain name that is not lower-case',
      options: () => ({ trustDomains: { 'Example.org': root.root } }),
      path: 'createTrust.trustDomains["Example.org"]',
    },
    { name: 'an empty trustDomains object', options: () => ({ trustDomains: {} }), path: 'createTrust.trustDomains' },
    { name: 'a CRL that is not a CRL', options: () => ({ ca: root.root, crl: root.root }), path: 'createTrust.crl[0]' },
    {
      name: 'a file object with extra keys',
      options: () => ({ ca: { file: '/x', mode: 1 } }),
      path: 'createTrust.ca[0]',
    },
    {
      name: 'maxChainLength out of range',
      options: () => ({ ca: root.root, maxChainLength: 9 }),
      path: 'createTrust.maxChainLength',
    },
  ];

  it.each(rows)('throws InvalidOptionError for $name', ({ options, path }) => {
    let thrown: unknown;
    try {
      createTrust(options() as TrustOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidOptionError);
    expect((thrown as InvalidOptionError).path).toBe(path);
  });

  it('refuses a trust next to ca/caFile in mtlsOptions, and an object createTrust did not make', () => {
    const trust = createTrust({ ca: root.root });
    expect(() => mtlsOptions({ key: server.key, cert: server.certificate, trust, ca: root.root })).toThrow(
      InvalidOptionError,
    );
    const forged = { generation: 1, caPems: [root.root] } as unknown as typeof trust;
    expect(() => mtlsOptions({ key: server.key, cert: server.certificate, trust: forged })).toThrow(/createTrust/);
    expect(() => peerCertificate({ trust: forged })).toThrow(/createTrust/);
  });

  it('gives OpenSSL the intermediates of a bundle too, but only roots are anchors', () => {
    const trust = createTrust({ ca: [root.root, intermediate.certificate] });
    expect(trust.caPems).toHaveLength(2);
    const options = mtlsOptions({ key: server.key, cert: server.certificate, trust, onWarning: () => {} });
    expect(options.ca).toContain(intermediate.certificate.trim().split('\n')[1]);
  });
});
