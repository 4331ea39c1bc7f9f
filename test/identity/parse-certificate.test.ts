import { createHash, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { staticUseProblem } from '../../src/identity/create-identity.js';
import { parseCertificate } from '../../src/identity/parse-certificate.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { DerError } from '../../src/x509/der.js';
import {
  bmp,
  buildCertificate,
  concat,
  dnsName,
  extension,
  ipName,
  name,
  printable,
  sequence,
  subjectAltName,
  tlv,
  uriName,
  utf8,
} from './helpers/der-builder.js';

const limits = { maxSubjectAltNames: 256 };
const parse = (certificate: IssuedCertificate) =>
  parseCertificate(new X509Certificate(certificate.certificate).raw, limits);

let root: CertificateAuthority;
let intermediate: CertificateAuthority;

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=Test Root,O=Acme' });
  intermediate = await root.createIntermediate({ subject: 'CN=Test Intermediate,O=Acme' });
});

describe('when the subject has a multi-valued RDN and a repeated CN', () => {
  it('keeps the RDN grouping and both CNs, in certificate order', async () => {
    const parsed = parse(await intermediate.issueClient({ subject: 'CN=svc+UID=42,CN=second,O=Acme' }));
    expect(parsed.subject.rdns).toEqual([
      [{ oid: '2.5.4.10', shortName: 'O', value: 'Acme' }],
      [{ oid: '2.5.4.3', shortName: 'CN', value: 'second' }],
      [
        { oid: '2.5.4.3', shortName: 'CN', value: 'svc' },
        { oid: '0.9.2342.19200300.100.1.1', shortName: 'UID', value: '42' },
      ],
    ]);
    expect(parsed.subject.toString()).toBe('CN=svc+UID=42,CN=second,O=Acme');
  });

  it('finds every value by short name (any case) or OID, and nothing for an unknown name', async () => {
    const parsed = parse(await intermediate.issueClient({ subject: 'CN=svc+UID=42,CN=second,O=Acme' }));
    expect(parsed.subject.get('CN')).toEqual(['second', 'svc']);
    expect(parsed.subject.get('cn')).toEqual(['second', 'svc']);
    expect(parsed.subject.get('0.9.2342.19200300.100.1.1')).toEqual(['42']);
    expect(parsed.subject.get('OU')).toEqual([]);
    expect(parsed.subject.get('nonsense')).toEqual([]);
  });

  it('is immutable', async () => {
    const parsed = parse(await intermediate.issueClient({ subject: 'CN=svc,O=Acme' }));
    expect(Object.isFrozen(parsed.subject)).toBe(true);
    expect(Object.isFrozen(parsed.subject.rdns)).toBe(true);
    expect(Object.isFrozen(parsed.subject.rdns[0])).toBe(true);
    expect(Object.isFrozen(parsed.san.dns)).toBe(true);
  });
});

describe('when reading subject alternative names', () => {
  it('keeps a DNS name that contains ", URI:spiffe://…" as one DNS name (CVE-2021-44532)', async () => {
    const parsed = parse(await intermediate.issueClient({ san: { dns: ['a.example.com, URI:spiffe://evil/x'] } }));
    expect(parsed.san.dns).toEqual(['a.example.com, URI:spiffe://evil/x']);
    expect(parsed.san.uri).toEqual([]);
    expect(parsed.spiffeId).toBeUndefined();
  });

  it('types every kind: IDN A-label, email as written, IPv4, IPv6 (RFC 5952), UPN otherName', async () => {
    const parsed = parse(
      await intermediate.issueClient({
        san: {
          dns: ['xn--bcher-kva.example'],
          email: ['Alice@Example.COM'],
          ip: ['10.0.0.1', '2001:DB8:0:0:0:0:0:1'],
          upn: ['user@example.com'],
        },
      }),
    );
    expect(parsed.san).toEqual({
      dns: ['xn--bcher-kva.example'],
      uri: [],
      email: ['Alice@Example.COM'],
      ip: ['10.0.0.1', '2001:db8::1'],
      upn: ['user@example.com'],
      otherName: [{ oid: '1.3.6.1.4.1.311.20.2.3', value: 'user@example.com' }],
    });
  });

  it.each([
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8:0:1::1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], '2001:db8:0:1:1:1:1:1'],
    [[0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], '2001:0:0:1::1'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1], '::ffff:192.0.2.1'],
    [[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0, 0, 0, 0, 0, 0], 'fe80::abcd:0:0:0'],
  ])('formats IPv6 %j as %s', (bytes, text) => {
    const der = buildCertificate({ extensions: [subjectAltName(ipName(bytes))] });
    expect(parseCertificate(der, limits).san.ip).toEqual([text]);
  });
});

describe('when deciding whether the certificate is an X509-SVID', () => {
  it('sets spiffeId for exactly one valid spiffe URI SAN on a non-CA leaf', async () => {
    const parsed = parse(await intermediate.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/api'] } }));
    expect(parsed.spiffeId).toBe('spiffe://example.org/ns/prod/sa/api');
  });

  it.each([
    ['two URI SANs', { san: { uri: ['spiffe://example.org/a', 'spiffe://example.org/b'] } }],
    ['a CA flag', { san: { uri: ['spiffe://example.org/a'] }, isCA: true }],
    ['an upper-case trust domain', { san: { uri: ['spiffe://Example.org/a'] } }],
    ['a trust domain with a port', { san: { uri: ['spiffe://example.org:8443/a'] } }],
    ['no path', { san: { uri: ['spiffe://example.org'] } }],
    ['a non-spiffe scheme', { san: { uri: ['https://example.org/a'] } }],
  ])('leaves spiffeId undefined for %s', async (_label, options) => {
    expect(parse(await intermediate.issueClient(options)).spiffeId).toBeUndefined();
  });

  it.each([
    'spiffe://example.org/',
    'spiffe://example.org/a/',
    'spiffe://example.org//a',
    'spiffe://example.org/a/../b',
    'spiffe://example.org/./b',
    'spiffe://example.org/a%2Fb',
    'spiffe://example.org/a?x=1',
    'spiffe://example.org/a#f',
    'spiffe://user@example.org/a',
    'SPIFFE://example.org/a',
    'spiffe:///a',
    `spiffe://${'a'.repeat(256)}/a`,
    `spiffe://example.org/${'a'.repeat(2048)}`,
  ])('rejects the SPIFFE ID %s', (uri) => {
    const der = buildCertificate({ extensions: [subjectAltName(uriName(uri))] });
    expect(parseCertificate(der, limits).spiffeId).toBeUndefined();
  });

  it('rejects an SVID whose key usage has keyCertSign', () => {
    const keyUsage = extension('2.5.29.15', true, tlv(0x03, [0x02, 0x84])); // digitalSignature + keyCertSign
    const der = buildCertificate({ extensions: [keyUsage, subjectAltName(uriName('spiffe://example.org/a'))] });
    const parsed = parseCertificate(der, limits);
    expect(parsed.keyUsage).toEqual(['digitalSignature', 'keyCertSign']);
    expect(parsed.spiffeId).toBeUndefined();
  });
});

describe('when reading the other fields', () => {
  it('gives serial, fingerprints, validity, key usages and CA flag in the documented forms', async () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date('2027-01-01T00:00:00Z');
    const issued = await intermediate.issueClient({ serialNumber: '00a1', notBefore, notAfter });
    const parsed = parse(issued);
    const node = new X509Certificate(issued.certificate);
    const spki = node.publicKey.export({ type: 'spki', format: 'der' });
    expect(parsed.serialNumber).toBe('a1');
    expect(parsed.fingerprint256).toBe(issued.fingerprint256);
    expect(parsed.spkiFingerprint256).toBe(createHash('sha256').update(spki).digest('hex'));
    expect(parsed.notBefore).toBe(notBefore.getTime());
    expect(parsed.notAfter).toBe(notAfter.getTime());
    expect(parsed.keyUsage).toEqual(['digitalSignature']);
    expect(parsed.extKeyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(parsed.isCA).toBe(false);
    expect(parsed.issuer.toString()).toBe('CN=Test Intermediate,O=Acme');
  });

  it('reports a CA certificate as such', () => {
    expect(parse(intermediate).isCA).toBe(true);
  });
});

describe('when the certificate restricts its use', () => {
  it('accepts a certificate without an EKU extension (every purpose)', async () => {
    const parsed = parse(await intermediate.issueClient({ extendedKeyUsage: null }));
    expect(parsed.hasExtKeyUsage).toBe(false);
    expect(staticUseProblem(parsed)).toBeUndefined();
  });

  it('refuses a serverAuth-only certificate (RFC 5280 §4.2.1.12)', async () => {
    const parsed = parse(await intermediate.issueClient({ extendedKeyUsage: ['serverAuth'] }));
    expect(staticUseProblem(parsed)).toBe('PEER_EKU_NOT_CLIENT_AUTH');
  });

  it('refuses an unknown critical extension but ignores an unknown non-critical one', () => {
    const critical = buildCertificate({ extensions: [extension('1.2.3.4.5', true, tlv(0x05, []))] });
    const nonCritical = buildCertificate({ extensions: [extension('1.2.3.4.5', false, tlv(0x05, []))] });
    expect(staticUseProblem(parseCertificate(critical, limits))).toBe('PEER_UNKNOWN_CRITICAL_EXTENSION');
    expect(staticUseProblem(parseCertificate(nonCritical, limits))).toBeUndefined();
  });
});

describe('when a name uses a legacy string type', () => {
  it('decodes BMPString (UTF-16BE, astral characters included)', () => {
    const der = buildCertificate({ subject: name(['2.5.4.3', bmp('Bücher 😀')]) });
    expect(parseCertificate(der, limits).subject.get('CN')).toEqual(['Bücher 😀']);
  });

  it('decodes T61String as Latin-1, as OpenSSL does', () => {
    const der = buildCertificate({ subject: name(['2.5.4.3', tlv(0x14, [0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72])]) });
    expect(parseCertificate(der, limits).subject.get('CN')).toEqual(['Müller']);
  });

  it('writes a non-string value as RFC 4514 #hex', () => {
    const der = buildCertificate({ subject: name(['1.2.3.4', tlv(0x02, [0x2a])]) });
    const parsed = parseCertificate(der, limits);
    expect(parsed.subject.get('1.2.3.4')).toEqual(['#02012a']);
    expect(parsed.subject.toString()).toBe('1.2.3.4=#02012a');
  });
});

describe('when a DN value needs RFC 4514 escaping', () => {
  it.each([
    ['a,b', 'CN=a\\,b'],
    ['a+b', 'CN=a\\+b'],
    ['a"b;c<d>e\\f', 'CN=a\\"b\\;c\\<d\\>e\\\\f'],
    [' lead', 'CN=\\ lead'],
    ['trail ', 'CN=trail\\ '],
    ['#hash', 'CN=\\#hash'],
    ['x\ny', 'CN=x\\0ay'],
    ['OU=x,CN=admin', 'CN=OU=x\\,CN=admin'],
  ])('escapes %j as %s', (value, text) => {
    const der = buildCertificate({ subject: name(['2.5.4.3', utf8(value)]) });
    const parsed = parseCertificate(der, limits);
    expect(parsed.subject.toString()).toBe(text);
    expect(parsed.subject.get('CN')).toEqual([value]);
  });
});

describe('when the certificate is hostile or malformed', () => {
  const many = Array.from({ length: 300 }, (_, i) => dnsName(`h${i}.example.com`));
  const valid = buildCertificate();
  it.each([
    ['empty input', new Uint8Array()],
    ['random bytes', Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff)],
    ['a truncated certificate', valid.subarray(0, valid.length - 5)],
    ['trailing data', concat(valid, Uint8Array.from([0]))],
    ['an indefinite length', Uint8Array.from([0x30, 0x80, 0, 0])],
    ['a length past the end', Uint8Array.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff])],
    ['invalid UTF-8 in a UTF8String', buildCertificate({ subject: name(['2.5.4.3', tlv(0x0c, [0xc3, 0x28])]) })],
    ['an odd-length BMPString', buildCertificate({ subject: name(['2.5.4.3', tlv(0x1e, [0x00, 0x41, 0x00])]) })],
    ['a lone surrogate in a BMPString', buildCertificate({ subject: name(['2.5.4.3', tlv(0x1e, [0xd8, 0x3d])]) })],
    ['a NUL in a CN (null-prefix)', buildCertificate({ subject: name(['2.5.4.3', utf8('good.com\u0000.evil')]) })],
    ['a PrintableString with "@"', buildCertificate({ subject: name(['2.5.4.3', printable('a@b')]) })],
    ['an empty RDN', buildCertificate({ subject: sequence(tlv(0x31, [])) })],
    [
      'a raw U-label in a dNSName',
      buildCertificate({ extensions: [subjectAltName(dnsName(Buffer.from('bücher.example')))] }),
    ],
    ['an 8-byte iPAddress', buildCertificate({ extensions: [subjectAltName(ipName([10, 0, 0, 0, 255, 0, 0, 0]))] })],
    ['an empty SAN sequence', buildCertificate({ extensions: [subjectAltName()] })],
    [
      'a duplicate extension',
      buildCertificate({ extensions: [subjectAltName(dnsName('a')), subjectAltName(dnsName('b'))] }),
    ],
    ['a fractional-second time', buildCertificate({ notAfter: '350101000000.5Z' })],
    ['an impossible date', buildCertificate({ notAfter: '350231000000Z' })],
    ['a local time', buildCertificate({ notAfter: '3501010000+0100' })],
  ])('refuses %s with a DerError', (_label, der) => {
    expect(() => parseCertificate(der, limits)).toThrow(DerError);
  });

  it('refuses more SANs than the limit', () => {
    const der = buildCertificate({ extensions: [subjectAltName(...many)] });
    expect(() => parseCertificate(der, limits)).toThrow('more than 256 subject alternative names');
    expect(parseCertificate(der, { maxSubjectAltNames: 300 }).san.dns).toHaveLength(300);
  });
});
