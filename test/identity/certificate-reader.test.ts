import { describe, expect, it } from 'vitest';
import { CertificateReader } from '../../src/identity/certificate-reader.js';
import { buildCertificate, dnsName, subjectAltName } from './helpers/der-builder.js';

describe('when reading certificates through the cache', () => {
  it('returns the same parse for the same DER and bounds the number of entries', () => {
    const reader = new CertificateReader(3, 16);
    const der = buildCertificate();
    const first = reader.read(der);
    const second = reader.read(Uint8Array.from(der));
    expect(first.ok && second.ok && first.certificate === second.certificate).toBe(true);
    for (let i = 0; i < 20; i += 1) reader.read(buildCertificate({ extensions: [subjectAltName(dnsName(`h${i}`))] }));
    expect(reader.cacheSize).toBe(3);
  });

  it('never throws, and reports unreadable and oversized certificates with their reasons', () => {
    const reader = new CertificateReader(10, 2);
    expect(reader.read(Uint8Array.from([1, 2, 3]))).toMatchObject({ ok: false, reason: 'PEER_CERTIFICATE_UNPARSABLE' });
    const many = buildCertificate({ extensions: [subjectAltName(dnsName('a'), dnsName('b'), dnsName('c'))] });
    expect(reader.read(many)).toMatchObject({ ok: false, reason: 'PEER_TOO_MANY_SANS' });
  });

  it('does not share the caller buffer', () => {
    const reader = new CertificateReader(10, 16);
    const der = buildCertificate();
    const outcome = reader.read(der);
    der.fill(0);
    expect(outcome.ok && outcome.certificate.der[0]).toBe(0x30);
  });

  it('reads a certificate for path building in both forms, and decodes it with OpenSSL once while it is cached', () => {
    const reader = new CertificateReader(10, 16);
    const der = buildCertificate();
    const first = reader.readForPath(der);
    const second = reader.readForPath(Uint8Array.from(der));
    if (typeof first === 'string' || typeof second === 'string') throw new Error('refused');
    expect(first.x509.raw.equals(Buffer.from(der))).toBe(true);
    expect(second.parsed).toBe(first.parsed);
    expect(second.x509).toBe(first.x509);
  });

  it('reads a leaf for one verification without keeping its OpenSSL copy (a cached peer would hold it)', () => {
    const reader = new CertificateReader(10, 16);
    const der = buildCertificate();
    const first = reader.readLeafForPath(der);
    const second = reader.readLeafForPath(der);
    if (typeof first === 'string' || typeof second === 'string') throw new Error('refused');
    expect(first.x509.raw.equals(Buffer.from(der))).toBe(true);
    expect(second.parsed).toBe(first.parsed);
    expect(second.x509).not.toBe(first.x509);
    // A certificate also sent as an issuer keeps the one copy decoded for that.
    const issuer = reader.readForPath(der);
    const asLeaf = reader.readLeafForPath(der);
    if (typeof issuer === 'string' || typeof asLeaf === 'string') throw new Error('refused');
    expect(asLeaf.x509).toBe(issuer.x509);
  });

  it.each([
    ['readForPath', (reader: CertificateReader, der: Uint8Array) => reader.readForPath(der)],
    ['readLeafForPath', (reader: CertificateReader, der: Uint8Array) => reader.readLeafForPath(der)],
  ])('%s refuses what it cannot read, with the same reason', (_name, read) => {
    const reader = new CertificateReader(10, 2);
    expect(read(reader, Uint8Array.from([1, 2, 3]))).toBe('PEER_CERTIFICATE_UNPARSABLE');
    const many = buildCertificate({ extensions: [subjectAltName(dnsName('a'), dnsName('b'), dnsName('c'))] });
    expect(read(reader, many)).toBe('PEER_TOO_MANY_SANS');
  });
});
