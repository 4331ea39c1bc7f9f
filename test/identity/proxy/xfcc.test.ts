import { describe, expect, it } from 'vitest';
import { MalformedHeaderError } from '../../../src/identity/proxy/certificate-encodings.js';
import { parseXfcc, selectElement, singleValue } from '../../../src/identity/proxy/xfcc.js';

const limits = { maxElements: 16, maxPairs: 64 };
const asObjects = (header: string) => parseXfcc(header, limits).map((element) => Object.fromEntries(element));

describe('when parsing a well-formed XFCC header', () => {
  it.each([
    [
      'the Envoy documentation example',
      'By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject="/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client";URI=spiffe://lyft.com/test',
      [
        {
          by: ['http://frontend.lyft.com'],
          hash: ['468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688'],
          subject: ['/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client'],
          uri: ['spiffe://lyft.com/test'],
        },
      ],
    ],
    [
      '",;=" inside a quoted value (one field, not three)',
      'Subject="CN=a,OU=b;c";URI=x',
      [{ subject: ['CN=a,OU=b;c'], uri: ['x'] }],
    ],
    ['escaped quotes', 'Subject="CN=\\"quoted\\", Inc"', [{ subject: ['CN="quoted", Inc'] }]],
    ['RFC 2253 backslash escapes kept literally', 'Subject="CN=a\\,b\\+c"', [{ subject: ['CN=a\\,b\\+c'] }]],
    ['repeated DNS keys, in order', 'DNS=a.example;DNS=b.example', [{ dns: ['a.example', 'b.example'] }]],
    ['case-insensitive keys', 'cert=x;HASH=y', [{ cert: ['x'], hash: ['y'] }]],
    [
      'several elements joined by Node with ", "',
      'By=a;URI=x, By=b;URI=y',
      [
        { by: ['a'], uri: ['x'] },
        { by: ['b'], uri: ['y'] },
      ],
    ],
    ['an empty value', 'By=;URI=x', [{ by: [''], uri: ['x'] }]],
    ['an empty quoted value', 'Subject=""', [{ subject: [''] }]],
    // RFC 4514 escapes a backslash as \\; the quote after it closes the value.
    ['a Subject ending in an escaped backslash', 'Subject="CN=a\\\\";URI=x', [{ subject: ['CN=a\\\\'], uri: ['x'] }]],
    ['an escaped backslash before an escaped quote', 'Subject="CN=\\\\\\"q"', [{ subject: ['CN=\\\\"q'] }]],
  ])('parses %s', (_label, header, expected) => {
    expect(asObjects(header)).toEqual(expected);
  });
});

describe('when the XFCC header is malformed', () => {
  it.each([
    ['an empty header', ''],
    ['an unterminated quote', 'Subject="CN=a'],
    ['an escaped closing quote (still unterminated)', 'Subject="CN=a\\"'],
    ['a pair without "="', 'Cert'],
    ['an empty key', '=value'],
    ['a trailing comma', 'By=a,'],
    ['an empty pair', 'By=a;;URI=b'],
    ['a quote inside an unquoted value', 'By=a"b'],
    ['text after a quoted value', 'Subject="a"b;By=c'],
    ['a key with a space inside', 'B y=a'],
    // A Subject ending in `\` must not swallow the fields after it up to a quote inside a SAN.
    ['a quote smuggled after a Subject ending in a backslash', 'Subject="CN=a\\\\";URI=x",Cert=smuggled'],
    ['a backslash at the end of the header', 'Subject="CN=a\\'],
    ['too many elements', Array.from({ length: 17 }, (_, i) => `By=${i}`).join(',')],
    ['too many pairs in an element', Array.from({ length: 65 }, (_, i) => `DNS=${i}`).join(';')],
  ])('refuses %s', (_label, header) => {
    expect(() => parseXfcc(header, limits)).toThrow(MalformedHeaderError);
  });
});

describe('when choosing the element by trusted hops', () => {
  const header = 'Cert="attacker";By=evil, Cert="edge-client";By=edge, Cert="edge-proxy";By=mesh';
  it.each([
    [1, 'edge-proxy'],
    [2, 'edge-client'],
    [3, 'attacker'],
  ])('with %i trusted hop(s) uses the element %s from the right', (hops, cert) => {
    expect(singleValue(selectElement(parseXfcc(header, limits), hops), 'cert')).toBe(cert);
  });

  it('never takes the attacker element that comes first', () => {
    const elements = parseXfcc('Cert="attacker",Cert="real"', limits);
    expect(singleValue(selectElement(elements, 1), 'cert')).toBe('real');
  });

  it('refuses more trusted hops than elements', () => {
    expect(() => selectElement(parseXfcc('Cert=a', limits), 2)).toThrow('fewer elements than trusted hops');
  });

  it('refuses a repeated Cert in one element', () => {
    expect(() => singleValue(selectElement(parseXfcc('Cert=a;Cert=b', limits), 1), 'cert')).toThrow('repeated cert');
  });
});
