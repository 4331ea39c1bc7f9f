import { describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/identity/parse-certificate.js';
import { DerError } from '../../src/x509/der.js';
import { buildCertificate, dnsName, oid, subjectAltName, tlv, uriName, utf8 } from './helpers/der-builder.js';

const limits = { maxSubjectAltNames: 256 };
const emailName = (value: string) => tlv(0x81, Buffer.from(value, 'latin1'));
const upnName = (value: string) => tlv(0xa0, concatBytes(oid('1.3.6.1.4.1.311.20.2.3'), tlv(0xa0, utf8(value))));
const otherName = (value: string) => tlv(0xa0, concatBytes(oid('1.2.3.4'), tlv(0xa0, utf8(value))));

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => Array.from(part)));
}

const parse = (...names: Uint8Array[]) =>
  parseCertificate(buildCertificate({ extensions: [subjectAltName(...names)] }), limits);

describe('a SAN value with a control character never becomes part of a peer', () => {
  // RFC 5280 §4.2.1.6 and RFC 3986 §2: dNSName, rfc822Name and URI are printable IA5 text; a CR/LF in one is an
  // injection (a log line, a header, a second "entry"), never a name.
  it.each([
    ['a CR LF in a dNSName', dnsName('a.example.com\r\nDNS:admin.example.com')],
    ['a LF in a dNSName', dnsName('a.example.com\n')],
    ['a TAB in a dNSName', dnsName('a\t.example.com')],
    ['an ESC in a dNSName', dnsName('a\u001b[31m.example.com')],
    ['a DEL in a dNSName', dnsName('a\u007f.example.com')],
    ['a CR LF in a URI', uriName('https://h.example.com/x\r\nURI:https://admin')],
    ['a LF in a URI', uriName('spiffe://example.org/ns/a\n')],
    ['a CR LF in an rfc822Name', emailName('a@example.com\r\n')],
    ['a C1 NEL in a UPN', upnName('user\u0085@example.com')],
    ['a LF in a UPN', upnName('user\n@example.com')],
    ['a CR in another otherName string', otherName('x\ry')],
  ])('%s is refused with a DerError', (_label, value) => {
    expect(() => parse(value)).toThrow(DerError);
  });

  it('keeps printable values and a space in an otherName string', () => {
    const san = parse(
      dnsName('a.example.com'),
      uriName('https://h.example.com/x'),
      emailName('a@example.com'),
      otherName('x y'),
    ).san;
    expect(san.dns).toEqual(['a.example.com']);
    expect(san.uri).toEqual(['https://h.example.com/x']);
    expect(san.email).toEqual(['a@example.com']);
    expect(san.otherName).toEqual([{ oid: '1.2.3.4', value: 'x y' }]);
  });
});
