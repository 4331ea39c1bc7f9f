import { describe, expect, it } from 'vitest';
import { MalformedHeaderError } from '../../../src/identity/proxy/certificate-encodings.js';
import { parseDistinguishedNameString } from '../../../src/identity/proxy/dn-string.js';

describe('when parsing an RFC 4514 DN string', () => {
  it('keeps multi-valued RDNs and puts RDNs in certificate order', () => {
    const name = parseDistinguishedNameString('CN=svc+UID=42,OU=eng,O=Acme');
    expect(name.rdns.map((rdn) => rdn.map((a) => `${a.shortName}=${a.value}`))).toEqual([
      ['O=Acme'],
      ['OU=eng'],
      ['CN=svc', 'UID=42'],
    ]);
    expect(name.toString()).toBe('CN=svc+UID=42,OU=eng,O=Acme');
  });

  it.each([
    ['CN=a\\,b', ['a,b']],
    ['CN=\\ lead', [' lead']],
    ['CN=trail\\ ', ['trail ']],
    ['CN=caf\\C3\\A9', ['café']],
    ['CN=café', ['café']],
    ['CN=\\#x', ['#x']],
    ['CN=OU\\=x\\,CN\\=admin', ['OU=x,CN=admin']],
    ['cn=lower', ['lower']],
    ['2.5.4.3=by-oid', ['by-oid']],
    ['CN=', ['']],
    // a leading U+FEFF is part of the value, not a byte-order mark to drop (found by fuzzing)
    ['CN=\\EF\\BB\\BFadmin', ['\uFEFFadmin']],
    ['CN=\uFEFFadmin', ['\uFEFFadmin']],
  ])('reads %s', (text, values) => {
    expect(parseDistinguishedNameString(text).get('CN')).toEqual(values);
  });

  it('round-trips through toString', () => {
    const text = 'CN=a\\,b\\+c,O=\\#1\\ ';
    expect(parseDistinguishedNameString(text).toString()).toBe(text);
  });

  it('reads a #hex value as such', () => {
    expect(parseDistinguishedNameString('1.2.3.4=#02012A').toString()).toBe('1.2.3.4=#02012a');
  });

  it.each([
    ['an unescaped comma inside a value cannot be told apart from a new RDN', 'CN=a,b'],
    ['an unknown short name', 'XX=a'],
    ['a missing "="', 'CN'],
    ['an unescaped quote', 'CN=a"b'],
    ['an unescaped leading space', 'CN= a'],
    ['an unescaped trailing space', 'CN=a '],
    ['a bad escape', 'CN=a\\q'],
    ['invalid UTF-8 from hex pairs', 'CN=\\C3\\28'],
    ['a NUL via hex pair', 'CN=a\\00b'],
    ['an odd #hex', '1.2.3.4=#123'],
    ['a trailing comma', 'CN=a,'],
    ['the legacy OpenSSL slash form', '/C=US/CN=Test Client'],
  ])('refuses %s', (_label, text) => {
    expect(() => parseDistinguishedNameString(text)).toThrow(MalformedHeaderError);
  });
});
