/** Subjects given to the development PKI as text go through the one RFC 4514 parser (spaces around separators allowed). */
import { describe, expect, it } from 'vitest';
import { KoaMtlsError } from '../../src/errors.js';
import { toJsonName } from '../../src/pki/distinguished-name.js';

const CN = '2.5.4.3';
const O = '2.5.4.10';
const UID = '0.9.2342.19200300.100.1.1';

describe('toJsonName', () => {
  it.each([
    [
      'CN=svc+UID=42,O=Acme',
      [{ [O]: [{ utf8String: 'Acme' }] }, { [CN]: [{ utf8String: 'svc' }], [UID]: [{ utf8String: '42' }] }],
    ],
    ['CN=svc, O=Acme', [{ [O]: [{ utf8String: 'Acme' }] }, { [CN]: [{ utf8String: 'svc' }] }]],
    ['CN=a\\,b', [{ [CN]: [{ utf8String: 'a,b' }] }]],
    // hex pairs are UTF-8 bytes, not one character each
    ['CN=caf\\C3\\A9', [{ [CN]: [{ utf8String: 'café' }] }]],
    ['2.5.4.3=by-oid', [{ [CN]: [{ utf8String: 'by-oid' }] }]],
  ])('reads %s', (text, json) => {
    expect(toJsonName(text)).toEqual(json);
  });

  it('takes an RDN list in certificate order as it is', () => {
    expect(toJsonName([[['O', 'Acme']], [['CN', 'svc']]])).toEqual([
      { [O]: [{ utf8String: 'Acme' }] },
      { [CN]: [{ utf8String: 'svc' }] },
    ]);
  });

  it.each([
    ['an empty name', '  '],
    ['a missing "="', 'CN'],
    ['an unknown attribute type', 'XX=1'],
    ['an unescaped special character', 'CN=a;b'],
    ['a #hex value', '2.5.4.3=#0c0161'],
    ['invalid UTF-8 from hex pairs', 'CN=\\C3\\28'],
  ])('refuses %s with ERR_PKI_INVALID_INPUT', (_label, text) => {
    expect(() => toJsonName(text)).toThrow(KoaMtlsError);
    expect(() => toJsonName(text)).toThrow(expect.objectContaining({ code: 'ERR_PKI_INVALID_INPUT' }));
  });
});
