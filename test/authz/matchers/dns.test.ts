import { describe, expect, it } from 'vitest';
import { allows } from '../helpers.js';

describe('san.dns patterns', () => {
  it.each([
    // label-aware single wildcard
    { pattern: '*.example.com', name: 'api.example.com', allowed: true },
    { pattern: '*.example.com', name: 'a.b.example.com', allowed: false },
    { pattern: '*.example.com', name: 'example.com', allowed: false },
    { pattern: '*.example.com', name: 'api.example.com.evil', allowed: false },
    { pattern: '*.example.com', name: 'evilexample.com', allowed: false },
    // `**` = one or more labels
    { pattern: '**.example.com', name: 'a.b.example.com', allowed: true },
    { pattern: '**.example.com', name: 'api.example.com', allowed: true },
    { pattern: '**.example.com', name: 'example.com', allowed: false },
    // partial and inner wildcards stay inside one label
    { pattern: 'api-*.example.com', name: 'api-1.example.com', allowed: true },
    { pattern: 'api-*.example.com', name: 'api.example.com', allowed: false },
    { pattern: 'api-*.example.com', name: 'api-1.x.example.com', allowed: false },
    { pattern: 'svc.*.cluster.local', name: 'svc.payments.cluster.local', allowed: true },
    { pattern: 'svc.*.cluster.local', name: 'svc.a.b.cluster.local', allowed: false },
    // case-insensitive (RFC 4343)
    { pattern: 'API.Example.COM', name: 'api.example.com', allowed: true },
    { pattern: 'api.example.com', name: 'API.EXAMPLE.COM', allowed: true },
    // IDNs compare as A-labels
    { pattern: 'bücher.example', name: 'xn--bcher-kva.example', allowed: true },
    { pattern: '*.bücher.example', name: 'shop.xn--bcher-kva.example', allowed: true },
    { pattern: 'bücher.example', name: 'bücher.example', allowed: false },
    // a wildcard certificate SAN is not a wildcard grant (envoy#10005)
    { pattern: 'api.example.com', name: '*.example.com', allowed: false },
    { pattern: '*.example.com', name: '*.example.com', allowed: false },
    // SAN string injection (CVE-2021-44532): one SAN holding a second "entry"
    { pattern: 'admin.example.com', name: 'evil.example.com, DNS:admin.example.com', allowed: false },
    { pattern: '*.example.com', name: 'evil.example.com, DNS:admin.example.com', allowed: false },
    { pattern: '**.example.com', name: 'evil.example.com, DNS:admin.example.com', allowed: false },
    // invalid names never match
    { pattern: '*.example.com', name: 'a\0.example.com', allowed: false },
    { pattern: '*.example.com', name: 'a b.example.com', allowed: false },
    { pattern: 'api.example.com', name: 'api.example.com.', allowed: false },
    { pattern: '*.example.com', name: '.example.com', allowed: false },
  ])('$pattern vs DNS SAN $name → $allowed', async ({ pattern, name, allowed }) => {
    expect(await allows({ san: { dns: pattern } }, { san: { dns: [name] } })).toBe(allowed);
  });

  it('matches when any SAN matches any entry of the list', async () => {
    const policy = { san: { dns: ['a.example.com', '*.internal.example.com'] } };
    expect(await allows(policy, { san: { dns: ['x.example.org', 'db.internal.example.com'] } })).toBe(true);
    expect(await allows(policy, { san: { dns: ['x.example.org'] } })).toBe(false);
  });

  describe('when the value is a SAN of another type (type confusion)', () => {
    it.each([
      { name: 'URI', san: { uri: ['https://api.example.com'] } },
      { name: 'URI without scheme text', san: { uri: ['api.example.com'] } },
      { name: 'email', san: { email: ['x@api.example.com'] } },
      { name: 'UPN', san: { upn: ['api.example.com'] } },
    ])('does not match a $name SAN', async ({ san }) => {
      expect(await allows({ san: { dns: 'api.example.com' } }, { san })).toBe(false);
    });

    it('does not fall back to the subject CN (RFC 9525)', async () => {
      const peer = { subject: [[['CN', 'api.example.com']]] as const };
      expect(await allows({ san: { dns: 'api.example.com' } }, peer)).toBe(false);
    });
  });
});
