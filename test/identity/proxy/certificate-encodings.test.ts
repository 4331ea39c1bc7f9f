import { describe, expect, it } from 'vitest';
import {
  decodeBase64,
  decodeCertificate,
  decodePemCertificates,
  MalformedHeaderError,
} from '../../../src/identity/proxy/certificate-encodings.js';

const der = Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x2a]);
const base64 = Buffer.from(der).toString('base64');
const pem = `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`;

describe('when decoding a certificate header', () => {
  it.each([
    ['base64 DER (HAProxy, Caddy, Traefik ≥ 2.9.4)', base64, 'base64-der'],
    ['PEM', pem, 'pem'],
    ['PEM whose line breaks became spaces (Apache, HAProxy)', pem.replaceAll('\n', ' '), 'pem'],
    ['URL-encoded PEM (nginx $ssl_client_escaped_cert)', encodeURIComponent(pem), 'url-pem'],
    ['URL-encoded PEM with spaces left raw (Traefik 2.8)', encodeURIComponent(pem).replaceAll('%20', ' '), 'url-pem'],
  ] as const)('decodes %s to the same DER', (_label, value, encoding) => {
    expect(Array.from(decodeCertificate(value, encoding))).toEqual(Array.from(der));
  });

  it.each([
    ['invalid base64', '####', 'base64-der'],
    ['non-canonical base64 trailing bits', 'MAMCASr=', 'base64-der'],
    ['two certificates where one is expected', pem + pem, 'pem'],
    ['text around the PEM block', `junk${pem}`, 'pem'],
    ['a bad percent escape', '%E0%A4%A', 'url-pem'],
    ['a private key block', '-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----', 'pem'],
    ['an empty value', '', 'base64-der'],
  ] as const)('refuses %s', (_label, value, encoding) => {
    expect(() => decodeCertificate(value, encoding)).toThrow(MalformedHeaderError);
  });

  it('bounds the number of certificates in a PEM chain', () => {
    expect(decodePemCertificates(pem + pem, 2)).toHaveLength(2);
    expect(() => decodePemCertificates(pem + pem + pem, 2)).toThrow('too many certificates');
  });
});

describe('when base64 is not in its one canonical form (RFC 4648 §3.2, §3.5)', () => {
  // MAMCASo= is the canonical encoding of the 5 bytes above; every row names the same bytes another way.
  it.each([
    ['missing padding', 'MAMCASo'],
    ['extra padding', 'MAMCASo=='],
    ['padding where none belongs', 'MAMCASoA=='],
    ['non-zero pad bits', 'MAMCASp='],
    ['non-zero pad bits (two padding characters)', 'AB=='],
    ['the URL-safe alphabet', '-_8='],
    ['an inner line break', 'MAMC\nASo='],
    ['an inner space', 'MAMC ASo='],
    ['padding in the middle', 'MA==MCASo='],
  ])('refuses %s', (_label, text) => {
    expect(() => decodeBase64(text)).toThrow(MalformedHeaderError);
  });

  it('decodes the canonical form', () => {
    expect(Array.from(decodeBase64('MAMCASo='))).toEqual(Array.from(der));
    expect(Array.from(decodeBase64('AA=='))).toEqual([0]);
  });
});
