/**
 * Attack tables for the matching class (issue 24 item 5): a value rewritten into an equivalent or ambiguous form must
 * neither satisfy an allow rule it should not, nor escape a deny rule (`not`) it should hit.
 */
import { describe, expect, it } from 'vitest';
import { explain } from '../../src/authz/explain.js';
import type { PeerPolicy } from '../../src/authz/policy.js';
import { allows } from './helpers.js';
import { makePeer, type PeerInput } from './peer-fixture.js';

/** The reason and rule `explain` gives, for deny tables that must say *why*. */
async function decision(policy: PeerPolicy, input: PeerInput) {
  const { allowed, reason, rule } = await explain(policy, makePeer(input), { allowBareWildcards: true });
  return { allowed, reason, rule };
}

describe('URI globs never match a percent-encoded separator or dot segment', () => {
  const users = 'https://id.example.com/users/*';
  it.each([
    { name: 'the named attack', uri: 'https://id.example.com/users/..%2Fadmin' },
    { name: 'lower-case %2f', uri: 'https://id.example.com/users/..%2fadmin' },
    { name: 'encoded dots and slash', uri: 'https://id.example.com/users/%2e%2e%2Fadmin' },
    { name: 'an encoded slash inside a name', uri: 'https://id.example.com/users/alice%2Fadmin' },
    { name: 'a double-encoded slash', uri: 'https://id.example.com/users/..%252Fadmin' },
    { name: 'an encoded backslash', uri: 'https://id.example.com/users/..%5Cadmin' },
    { name: 'a raw backslash (not RFC 3986)', uri: 'https://id.example.com/users/..\\admin' },
    { name: 'an encoded NUL', uri: 'https://id.example.com/users/alice%00' },
    { name: 'an encoded CR LF', uri: 'https://id.example.com/users/alice%0d%0aURI:x' },
    { name: 'a raw CR LF', uri: 'https://id.example.com/users/alice\r\nURI:x' },
    { name: 'a raw space', uri: 'https://id.example.com/users/alice admin' },
    { name: 'a malformed escape', uri: 'https://id.example.com/users/alice%zz' },
    { name: 'a truncated escape', uri: 'https://id.example.com/users/alice%2' },
    { name: 'raw non-ASCII', uri: 'https://id.example.com/users/ålice' },
  ])('$name: $uri is not allowed by users/*', async ({ uri }) => {
    expect(await allows({ san: { uri: users } }, { san: { uri: [uri] } })).toBe(false);
  });

  it.each([
    { pattern: 'https://id.example.com/users/**', uri: 'https://id.example.com/users/a/%2e%2e%2F..%2Fadmin' },
    { pattern: 'https://id.example.com/users/**', uri: 'https://id.example.com/users/a%2F..%2F..%2Fadmin' },
    { pattern: 'spiffe://example.org/ns/*', uri: 'spiffe://example.org/ns/..%2Fadmin' },
  ])('$pattern does not allow $uri', async ({ pattern, uri }) => {
    expect(await allows({ san: { uri: pattern } }, { san: { uri: [uri] } })).toBe(false);
  });

  it.each([
    { pattern: 'spiffe://example.org/users/*', id: 'spiffe://example.org/users/..%2Fadmin' },
    { pattern: 'spiffe://example.org/users/*', id: 'spiffe://example.org/users/%2e%2e' },
    { pattern: 'spiffe://example.org/users/**', id: 'spiffe://example.org/users/a/../admin' },
  ])('spiffe $pattern does not allow $id', async ({ pattern, id }) => {
    expect(await allows({ spiffe: pattern }, { spiffeId: id })).toBe(false);
  });

  it.each([
    // RFC 3986 §6.2.2.2: an encoded unreserved character is the character itself
    { pattern: 'https://id.example.com/users/alice', uri: 'https://id.example.com/users/%61lice' },
    { pattern: 'https://id.example.com/users/*', uri: 'https://id.example.com/users/%61lice' },
    // §6.2.2.1: the hex digits of an escape are case-insensitive
    { pattern: 'https://id.example.com/a%3Ab', uri: 'https://id.example.com/a%3ab' },
  ])('equivalent spellings match: $pattern allows $uri', async ({ pattern, uri }) => {
    expect(await allows({ san: { uri: pattern } }, { san: { uri: [uri] } })).toBe(true);
  });

  it('still allows a plain value', async () => {
    expect(await allows({ san: { uri: users } }, { san: { uri: ['https://id.example.com/users/alice'] } })).toBe(true);
  });
});

describe('a deny rule (not) cannot be escaped by rewriting a URI', () => {
  const policy: PeerPolicy = { anyPeer: true, not: { san: { uri: 'https://id.example.com/admin/**' } } };
  it.each([
    { name: 'an encoded unreserved letter', uri: 'https://id.example.com/%61dmin/x' },
    { name: 'an encoded dot segment', uri: 'https://id.example.com/admin/%2e%2e%2Fx' },
    { name: 'an encoded slash', uri: 'https://id.example.com/admin/a%2Fb' },
    { name: 'an empty segment', uri: 'https://id.example.com/admin//x' },
    { name: 'a query', uri: 'https://id.example.com/admin/x?y' },
    { name: 'an upper-case host', uri: 'https://ID.example.com/admin/x' },
  ])('$name ($uri) is denied', async ({ uri }) => {
    expect(await decision(policy, { san: { uri: [uri] } })).toEqual({
      allowed: false,
      reason: 'POLICY_NO_MATCH',
      rule: 'policy.not',
    });
  });

  it('allows a URI that is clearly outside the denied tree', async () => {
    expect(await allows(policy, { san: { uri: ['https://id.example.com/users/x'] } })).toBe(true);
  });

  it('denies a DNS SAN it cannot read under a DNS deny rule', async () => {
    const dnsDeny: PeerPolicy = { anyPeer: true, not: { san: { dns: '*.admin.example.com' } } };
    expect(await allows(dnsDeny, { san: { dns: ['*.admin.example.com'] } })).toBe(false);
    expect(await allows(dnsDeny, { san: { dns: ['x.admin.example.com\r\n'] } })).toBe(false);
    expect(await allows(dnsDeny, { san: { dns: ['x.users.example.com'] } })).toBe(true);
  });
});

describe('SAN values with control characters never match', () => {
  it.each([
    { policy: { san: { dns: '*.example.com' } }, san: { dns: ['a.example.com\r\n'] } },
    { policy: { san: { dns: '*.example.com' } }, san: { dns: ['a\n.example.com'] } },
    { policy: { san: { uri: 'https://h.example.com/*' } }, san: { uri: ['https://h.example.com/x\r\n'] } },
    { policy: { san: { uri: 'https://h.example.com/**' } }, san: { uri: ['https://h.example.com/x\u0085y'] } },
    { policy: { san: { uri: 'https://h.example.com/x' } }, san: { uri: ['https://h.example.com\t/x'] } },
    { policy: { san: { email: '*@example.com' } }, san: { email: ['a\r\n@example.com'] } },
    { policy: { san: { email: '*@example.com' } }, san: { email: ['a@example.com\n'] } },
  ] satisfies { policy: PeerPolicy; san: PeerInput['san'] }[])('$san', async ({ policy, san }) => {
    expect(await allows(policy, { san })).toBe(false);
  });
});

describe('an IPv4 rule matches its addresses in every IPv6 form that embeds them', () => {
  // RFC 4291 §2.5.5.2 (IPv4-mapped), §2.5.5.1 (IPv4-compatible, deprecated), RFC 6052 §2.1 (NAT64 64:ff9b::/96).
  const embedded = [
    { form: 'IPv4-mapped', ip: '::ffff:10.1.2.3' },
    { form: 'IPv4-mapped, hex', ip: '::ffff:a01:203' },
    { form: 'IPv4-compatible', ip: '::a01:203' },
    { form: 'IPv4-compatible, dotted', ip: '::10.1.2.3' },
    { form: 'NAT64 well-known prefix', ip: '64:ff9b::a01:203' },
    { form: 'NAT64 well-known prefix, dotted', ip: '64:ff9b::10.1.2.3' },
    { form: 'NAT64, spelled out', ip: '0064:FF9B:0000:0000:0000:0000:0A01:0203' },
  ];

  it.each(embedded)('allow: 10.0.0.0/8 allows $form $ip', async ({ ip }) => {
    expect(await allows({ san: { ip: '10.0.0.0/8' } }, { san: { ip: [ip] } })).toBe(true);
  });

  it.each(embedded)('deny: not 10.0.0.0/8 denies $form $ip', async ({ ip }) => {
    expect(await decision({ anyPeer: true, not: { san: { ip: '10.0.0.0/8' } } }, { san: { ip: [ip] } })).toEqual({
      allowed: false,
      reason: 'POLICY_NO_MATCH',
      rule: 'policy.not',
    });
  });

  it.each(embedded)('a host rule 10.1.2.3 allows $form $ip', async ({ ip }) => {
    expect(await allows({ san: { ip: '10.1.2.3' } }, { san: { ip: [ip] } })).toBe(true);
  });

  it.each([
    { pattern: '64:ff9b::10.0.0.0/104', ip: '10.1.2.3' },
    { pattern: '64:ff9b::a00:0/104', ip: '::ffff:10.1.2.3' },
    { pattern: '::10.0.0.0/104', ip: '10.1.2.3' },
    { pattern: '::ffff:10.0.0.0/104', ip: '64:ff9b::a01:203' },
  ])('an IPv4 block written in embedded form ($pattern) matches $ip', async ({ pattern, ip }) => {
    expect(await allows({ san: { ip: pattern } }, { san: { ip: [ip] } })).toBe(true);
  });

  it.each([
    { name: 'another IPv6 prefix', pattern: '10.0.0.0/8', ip: '2001:db8::a01:203' },
    {
      name: 'NAT64 local-use prefix (RFC 8215, prefix length not known)',
      pattern: '10.0.0.0/8',
      ip: '64:ff9b:1::a01:203',
    },
    { name: '6to4 (embeds a router, not the host)', pattern: '10.0.0.0/8', ip: '2002:a01:203::1' },
    { name: 'loopback ::1 is not 0.0.0.1', pattern: '0.0.0.0/8', ip: '::1' },
    { name: 'the unspecified :: is not 0.0.0.0', pattern: '0.0.0.0/8', ip: '::' },
    { name: 'a different IPv4 address', pattern: '10.0.0.0/8', ip: '64:ff9b::b01:203' },
  ])('does not match $name: $pattern vs $ip', async ({ pattern, ip }) => {
    expect(await allows({ san: { ip: pattern } }, { san: { ip: [ip] } })).toBe(false);
  });

  it('keeps IPv6 rules on the IPv6 form', async () => {
    expect(await allows({ san: { ip: '64:ff9b::/64' } }, { san: { ip: ['64:ff9b::a01:203'] } })).toBe(true);
    expect(await allows({ san: { ip: '::1' } }, { san: { ip: ['::1'] } })).toBe(true);
    expect(await allows({ san: { ip: '64:ff9b::/64' } }, { san: { ip: ['10.1.2.3'] } })).toBe(false);
  });
});
