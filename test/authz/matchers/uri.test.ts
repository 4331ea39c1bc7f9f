import { describe, expect, it } from 'vitest';
import { allows } from '../helpers.js';

describe('san.uri patterns', () => {
  it.each([
    { pattern: 'https://api.example.com/v1/*', uri: 'https://api.example.com/v1/users', allowed: true },
    { pattern: 'https://api.example.com/v1/*', uri: 'https://api.example.com/v1/users/1', allowed: false },
    { pattern: 'https://api.example.com/v1/*', uri: 'https://api.example.com/v1', allowed: false },
    { pattern: 'https://api.example.com/v1/*', uri: 'https://api.example.com/v1/', allowed: false },
    { pattern: 'https://api.example.com/v1/*', uri: 'https://api.example.com/v1/users/', allowed: false },
    { pattern: 'https://api.example.com/v1/*', uri: 'https://api.example.com/v1x/users', allowed: false },
    { pattern: 'https://api.example.com/v1/**', uri: 'https://api.example.com/v1/a/b/c', allowed: true },
    // scheme and host case-insensitive, path case-sensitive (RFC 3986 §6.2.2.1)
    { pattern: 'HTTPS://API.Example.com/x', uri: 'https://api.EXAMPLE.com/x', allowed: true },
    { pattern: 'https://api.example.com/X', uri: 'https://api.example.com/x', allowed: false },
    // the host is label-aware
    { pattern: 'https://*.example.com/x', uri: 'https://a.example.com/x', allowed: true },
    { pattern: 'https://*.example.com/x', uri: 'https://a.b.example.com/x', allowed: false },
    { pattern: 'https://api.example.com/x', uri: 'https://api.example.com.evil/x', allowed: false },
    // ports compare exactly
    { pattern: 'https://h.example.com:8443/x', uri: 'https://h.example.com/x', allowed: false },
    { pattern: 'https://h.example.com:8443/x', uri: 'https://h.example.com:8443/x', allowed: true },
    // a query, fragment or userinfo never rides along
    { pattern: 'https://h.example.com/x', uri: 'https://h.example.com/x?admin=1', allowed: false },
    { pattern: 'https://h.example.com/*', uri: 'https://h.example.com/x#frag', allowed: false },
    { pattern: 'https://h.example.com/x', uri: 'https://user@h.example.com/x', allowed: false },
    // dot segments are not globbable
    { pattern: 'https://h.example.com/v1/*', uri: 'https://h.example.com/v1/..', allowed: false },
    { pattern: 'https://h.example.com/v1/**', uri: 'https://h.example.com/v1/../admin', allowed: false },
    { pattern: 'https://h.example.com/v1/**', uri: 'https://h.example.com/v1//admin', allowed: false },
    // ... nor once `%2e` is normalized to '.' (RFC 3986 §2.3, §6.2.2.2): found by fuzzing
    { pattern: 'https://h.example.com/v1/**', uri: 'https://h.example.com/v1/%2e%2e/admin', allowed: false },
    { pattern: 'https://h.example.com/v1/**', uri: 'https://h.example.com/v1/%2E%2e/admin', allowed: false },
    { pattern: 'https://h.example.com/v1/**', uri: 'https://h.example.com/v1/.%2e/admin', allowed: false },
    { pattern: 'https://h.example.com/v1/*', uri: 'https://h.example.com/v1/%2e', allowed: false },
    { pattern: 'https://h.example.com/v1/*', uri: 'https://h.example.com/v1/%2e%2ex', allowed: true },
    // a legitimate comma is matched exactly
    { pattern: 'https://h.example.com/a,b', uri: 'https://h.example.com/a,b', allowed: true },
    // SAN injection: one URI SAN holding a second "entry"
    {
      pattern: 'https://admin.example.com',
      uri: 'https://x.example.com, URI:https://admin.example.com',
      allowed: false,
    },
    // IPv6 literal hosts compare as written (lower-case)
    { pattern: 'https://[2001:db8::1]/x', uri: 'https://[2001:DB8::1]/x', allowed: true },
    { pattern: 'urn-less://h.example.com', uri: 'urn:uuid:1234', allowed: false },
  ])('$pattern vs URI SAN $uri → $allowed', async ({ pattern, uri, allowed }) => {
    expect(await allows({ san: { uri: pattern } }, { san: { uri: [uri] } })).toBe(allowed);
  });

  it('does not match a DNS SAN with the same text (type confusion, CVE-2021-44531)', async () => {
    expect(
      await allows({ san: { uri: 'https://api.example.com' } }, { san: { dns: ['https://api.example.com'] } }),
    ).toBe(false);
    expect(await allows({ san: { uri: 'https://api.example.com' } }, { san: { dns: ['api.example.com'] } })).toBe(
      false,
    );
  });
});
