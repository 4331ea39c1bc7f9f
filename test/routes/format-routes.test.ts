import Router from '@koa/router';
import { describe, expect, it } from 'vitest';
import { requirePeer } from '../../src/authz/require-peer.js';
import { describeRoutes } from '../../src/routes/describe-routes.js';
import { formatRoutes } from '../../src/routes/format-routes.js';

describe('formatRoutes', () => {
  it('aligns columns and ends with a summary', () => {
    const router = new Router();
    router.get('/a', requirePeer({ trustDomain: 'example.org' }), () => undefined);
    router.all('/everything', () => undefined);
    expect(formatRoutes(describeRoutes(router))).toBe(
      [
        'METHOD  PATH         POLICY                                SANDBOX  FLAGS',
        'GET     /a           trustDomain in [example.org] (route)  -        -',
        'ALL     /everything  -                                     -        no-policy',
        '',
        '2 routes, 1 without an enforcing policy',
        '',
      ].join('\n'),
    );
  });

  describe('when a route path carries terminal controls', () => {
    it.each([
      { name: 'an ANSI escape', char: '\u001b', escaped: '\\u001b' },
      { name: 'a bidi override (CVE-2021-42574)', char: '\u202e', escaped: '\\u202e' },
      { name: 'a carriage return', char: '\r', escaped: '\\u000d' },
    ])('prints $name escaped', ({ char, escaped }) => {
      const router = new Router();
      router.get(`/files/a${char}b`, () => undefined);
      const output = formatRoutes(describeRoutes(router));
      expect(output).toContain(`/files/a${escaped}b`);
      expect(output).not.toContain(char);
    });
  });
});
