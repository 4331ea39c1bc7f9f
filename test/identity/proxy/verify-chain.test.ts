/**
 * Forwarded chains get the verdict a direct TLS handshake (`openssl verify -purpose sslclient`) would give them:
 * each row is an attack from the review of 0.1.0 (accepted then, refused by OpenSSL), next to the well-formed
 * chain it differs from, which must still be accepted.
 */
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateReader } from '../../../src/identity/certificate-reader.js';
import { compileVerification, ForwardedPeers } from '../../../src/identity/proxy/forwarded-peers.js';
import { signingAlgorithm } from '../../../src/pki/keys.js';
import { x509 } from '../../../src/x509/runtime.js';
import { CLIENT_AUTH, type Made, make, rawExtension, SERVER_AUTH } from '../../trust/helpers/custom-certificates.js';
import { loadLimbo } from '../../trust/limbo/limbo-cases.js';

const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);

interface Scenario {
  readonly ca: readonly string[];
  readonly crl?: readonly string[];
  readonly leaf: string;
  readonly chain: readonly string[];
  readonly time?: number;
}

function verdict({ ca, crl, leaf, chain, time }: Scenario) {
  const reader = new CertificateReader(100, 64);
  const verification = compileVerification({ ca: [...ca], ...(crl === undefined ? {} : { crl: [...crl] }) }, 'verify');
  const outcome = new ForwardedPeers(reader, verification, 100).resolve(
    'client-cert',
    der(leaf),
    chain.map(der),
    time ?? Date.now(),
  );
  return outcome.ok ? 'accepted' : outcome.reason;
}

async function crlBy(issuer: Made, extensions: x509.Extension[] = []): Promise<string> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.certificate.subjectName,
    thisUpdate: new Date(Date.now() - 3_600_000),
    nextUpdate: new Date(Date.now() + 86_400_000),
    entries: [],
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.keys.privateKey, 'SHA-256'),
    extensions,
  });
  return `${x509.PemConverter.encode(crl.rawData, 'X509 CRL')}\n`;
}

let root: Made;
let intermediate: Made;
let leaf: Made;
beforeAll(async () => {
  root = await make({ subject: 'CN=Root,O=Acme', ca: true });
  intermediate = await make({ subject: 'CN=Intermediate,O=Acme', ca: true, issuer: root });
  leaf = await make({ subject: 'CN=client', issuer: intermediate });
});

describe('the well-formed chain each attack differs from', () => {
  it('is accepted, with and without a CRL per CA', async () => {
    expect(verdict({ ca: [root.pem], leaf: leaf.pem, chain: [intermediate.pem] })).toBe('accepted');
    const crl = [await crlBy(root), await crlBy(intermediate)];
    expect(verdict({ ca: [root.pem], crl, leaf: leaf.pem, chain: [intermediate.pem] })).toBe('accepted');
  });
});

describe('when a forwarded chain is one OpenSSL -purpose sslclient rejects', () => {
  const rows: readonly { name: string; scenario: () => Promise<Scenario>; reason: string }[] = [
    {
      name: 'an intermediate whose EKU excludes clientAuth',
      scenario: async () => {
        const serverOnly = await make({ subject: 'CN=Server ICA', ca: true, issuer: root, eku: [SERVER_AUTH] });
        const client = await make({ subject: 'CN=client', issuer: serverOnly });
        return { ca: [root.pem], leaf: client.pem, chain: [serverOnly.pem] };
      },
      reason: 'PROXY_CHAIN_UNTRUSTED',
    },
    {
      name: 'a leaf whose keyUsage has neither digitalSignature nor keyAgreement',
      scenario: async () => {
        const client = await make({
          subject: 'CN=client',
          issuer: intermediate,
          keyUsage: x509.KeyUsageFlags.keyEncipherment,
        });
        return { ca: [root.pem], leaf: client.pem, chain: [intermediate.pem] };
      },
      reason: 'PROXY_LEAF_UNUSABLE',
    },
    {
      name: 'a leaf whose Netscape cert type is SSL server only',
      scenario: async () => {
        const nsServer = rawExtension('2.16.840.1.113730.1.1', false, [0x03, 0x02, 0x06, 0x40]);
        const client = await make({ subject: 'CN=client', issuer: intermediate, extensions: [nsServer] });
        return { ca: [root.pem], leaf: client.pem, chain: [intermediate.pem] };
      },
      reason: 'PROXY_LEAF_UNUSABLE',
    },
    {
      name: 'a CA certificate presented as the client',
      scenario: async () => ({ ca: [root.pem], leaf: intermediate.pem, chain: [] }),
      reason: 'PROXY_LEAF_UNUSABLE',
    },
    {
      name: 'the trust anchor itself presented as the client',
      scenario: async () => ({ ca: [root.pem], leaf: root.pem, chain: [] }),
      reason: 'PROXY_LEAF_UNUSABLE',
    },
    {
      name: 'a leaf with a critical AKI',
      scenario: async () => {
        const aki = await x509.AuthorityKeyIdentifierExtension.create(intermediate.certificate);
        const critical = new x509.Extension('2.5.29.35', true, aki.value);
        const client = await make({
          subject: 'CN=client',
          issuer: intermediate,
          keyIdentifiers: false,
          extensions: [critical],
        });
        return { ca: [root.pem], leaf: client.pem, chain: [intermediate.pem] };
      },
      reason: 'PEER_UNKNOWN_CRITICAL_EXTENSION',
    },
    {
      name: 'a leaf with a critical AIA',
      scenario: async () => {
        // AuthorityInfoAccessSyntax: one OCSP access description, uniformResourceIdentifier "http://o"
        const aia = rawExtension(
          '1.3.6.1.5.5.7.1.1',
          true,
          [
            0x30, 0x16, 0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x86, 0x08, 0x68, 0x74,
            0x74, 0x70, 0x3a, 0x2f, 0x2f, 0x6f,
          ],
        );
        const client = await make({ subject: 'CN=client', issuer: intermediate, extensions: [aia] });
        return { ca: [root.pem], leaf: client.pem, chain: [intermediate.pem] };
      },
      reason: 'PEER_UNKNOWN_CRITICAL_EXTENSION',
    },
    {
      name: 'an intermediate CA with an empty subject',
      scenario: async () => {
        const nameless = await make({ subject: '', ca: true, issuer: root });
        const client = await make({ subject: 'CN=client', issuer: nameless });
        return { ca: [root.pem], leaf: client.pem, chain: [nameless.pem] };
      },
      reason: 'PROXY_CHAIN_UNTRUSTED',
    },
    {
      name: "a leaf whose AKI does not match its issuer's SKI",
      scenario: async () => {
        const otherKeyId = rawExtension('2.5.29.35', false, [0x30, 0x06, 0x80, 0x04, 0xde, 0xad, 0xbe, 0xef]);
        const client = await make({
          subject: 'CN=client',
          issuer: intermediate,
          keyIdentifiers: false,
          extensions: [otherKeyId],
        });
        return { ca: [root.pem], leaf: client.pem, chain: [intermediate.pem] };
      },
      reason: 'PROXY_CHAIN_UNTRUSTED',
    },
    {
      name: 'keys with explicit EC parameters (x509-limbo webpki::explicit-curve, EKU clientAuth)',
      scenario: async () => {
        const limbo = loadLimbo().find((testcase) => testcase.id === 'webpki::explicit-curve');
        if (limbo === undefined) throw new Error('limbo case missing');
        return {
          ca: [...limbo.trusted_certs],
          leaf: limbo.peer_certificate,
          chain: [],
          time: Date.parse(limbo.validation_time ?? ''),
        };
      },
      reason: 'PROXY_LEAF_UNUSABLE',
    },
    {
      name: 'a CRL signed by a CA without cRLSign (the only CRL for the leaf)',
      scenario: async () => {
        const noCrlSign = await make({
          subject: 'CN=No cRLSign ICA',
          ca: true,
          issuer: root,
          keyUsage: x509.KeyUsageFlags.keyCertSign,
        });
        const client = await make({ subject: 'CN=client', issuer: noCrlSign });
        const crl = [await crlBy(root), await crlBy(noCrlSign)];
        return { ca: [root.pem], crl, leaf: client.pem, chain: [noCrlSign.pem] };
      },
      reason: 'PROXY_CRL_UNAVAILABLE',
    },
    {
      name: 'a CRL whose IssuingDistributionPoint covers only CA certificates, applied to a leaf',
      scenario: async () => {
        // IssuingDistributionPoint ::= SEQUENCE { onlyContainsCACerts [2] TRUE }, critical (RFC 5280 §5.2.5)
        const onlyCa = rawExtension('2.5.29.28', true, [0x30, 0x03, 0x82, 0x01, 0xff]);
        const crl = [await crlBy(root), await crlBy(intermediate, [onlyCa])];
        return { ca: [root.pem], crl, leaf: leaf.pem, chain: [intermediate.pem] };
      },
      reason: 'PROXY_CRL_UNAVAILABLE',
    },
  ];

  it.each(rows)('refuses $name', async ({ scenario, reason }) => {
    expect(verdict(await scenario())).toBe(reason);
  });

  it('keeps a leaf with EKU clientAuth acceptable (the rows fail for their one difference)', async () => {
    const client = await make({ subject: 'CN=client', issuer: intermediate, eku: [CLIENT_AUTH, SERVER_AUTH] });
    expect(verdict({ ca: [root.pem], leaf: client.pem, chain: [intermediate.pem] })).toBe('accepted');
  });
});
