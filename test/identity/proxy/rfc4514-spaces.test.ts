/**
 * The one RFC 4514 parser, in its two dialects: strict for text a proxy claims, and tolerant of the spaces people type
 * around separators for the development PKI's subjects. Everything else stays as strict in both.
 */
import { describe, expect, it } from 'vitest';
import { MalformedHeaderError } from '../../../src/identity/proxy/certificate-encodings.js';
import { parseRfc4514 } from '../../../src/identity/proxy/dn-string.js';

const typed = (text: string) =>
  parseRfc4514(text, { spaces: 'around-separators' }).map((rdn) => rdn.map((a) => `${a.shortName}=${a.value}`));

describe("with spaces: 'around-separators'", () => {
  it.each([
    ['CN=svc, O=Acme', [['O=Acme'], ['CN=svc']]],
    ['CN = svc , O = Acme', [['O=Acme'], ['CN=svc']]],
    ['  CN=svc + UID=42 ,O=Acme  ', [['O=Acme'], ['CN=svc', 'UID=42']]],
    ['CN=two words, O=Acme Inc', [['O=Acme Inc'], ['CN=two words']]],
    ['CN=trail\\ , O=x', [['O=x'], ['CN=trail ']]],
    ['CN=\\ lead', [['CN= lead']]],
  ])('reads %s', (text, rdns) => {
    expect(typed(text)).toEqual(rdns);
  });

  it.each([
    ['an unescaped comma inside a value', 'CN=a,b'],
    ['an unescaped special', 'CN=a;b'],
    ['an unknown short name', 'XX=a'],
    ['a bad escape', 'CN=a\\q'],
  ])('still refuses %s', (_label, text) => {
    expect(() => parseRfc4514(text, { spaces: 'around-separators' })).toThrow(MalformedHeaderError);
  });
});

describe('by default (RFC 4514, for proxy claims)', () => {
  it.each([
    ['a space after a comma', 'CN=svc, O=Acme'],
    ['spaces around "="', 'CN = svc'],
    ['a space after a #hex value', '1.2.3.4=#02012a ,CN=x'],
    ['anything but a separator after a #hex value', '1.2.3.4=#02012a;CN=x'],
  ])('refuses %s', (_label, text) => {
    expect(() => parseRfc4514(text)).toThrow(MalformedHeaderError);
  });
});
