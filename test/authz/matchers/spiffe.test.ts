import { describe, expect, it } from 'vitest';
import { allows } from '../helpers.js';

describe('spiffe patterns', () => {
  it.each([
    { pattern: 'spiffe://example.org/ns/prod/sa/web', id: 'spiffe://example.org/ns/prod/sa/web', allowed: true },
    { pattern: 'spiffe://example.org/ns/*/sa/web', id: 'spiffe://example.org/ns/prod/sa/web', allowed: true },
    { pattern: 'spiffe://example.org/ns/*/sa/web', id: 'spiffe://example.org/ns/a/b/sa/web', allowed: false },
    { pattern: 'spiffe://example.org/ns/a/**', id: 'spiffe://example.org/ns/a/b/c', allowed: true },
    // prefix without a segment boundary (go-spiffe PR #406)
    { pattern: 'spiffe://example.org/ns/a/**', id: 'spiffe://example.org/ns/ab', allowed: false },
    { pattern: 'spiffe://example.org/ns/a', id: 'spiffe://example.org/ns/ab', allowed: false },
    { pattern: 'spiffe://example.org/spire/agent/*', id: 'spiffe://example.org/spire/agentish/x', allowed: false },
    // the trust domain is exact, never a prefix
    { pattern: 'spiffe://example.org/ns/a', id: 'spiffe://example.org.evil/ns/a', allowed: false },
    { pattern: 'spiffe://example.org/**', id: 'spiffe://example.org.evil/ns/a', allowed: false },
    { pattern: 'spiffe://example.org/**', id: 'spiffe://evil.example.org/ns/a', allowed: false },
    // scheme and trust domain case-insensitive; the path is case-sensitive
    { pattern: 'SPIFFE://Example.ORG/ns/a', id: 'spiffe://example.org/ns/a', allowed: true },
    { pattern: 'spiffe://td.example/ns/*', id: 'spiffe://td.example/NS/x', allowed: false },
  ])('$pattern vs SPIFFE ID $id → $allowed', async ({ pattern, id, allowed }) => {
    expect(await allows({ spiffe: pattern }, { spiffeId: id, san: { uri: [id] } })).toBe(allowed);
  });

  it('matches only the validated SPIFFE ID, never a raw URI SAN', async () => {
    // Two URI SANs: not an X509-SVID, so the identity has no spiffeId.
    const peer = { san: { uri: ['spiffe://example.org/ns/a', 'spiffe://example.org/ns/b'] } };
    expect(await allows({ spiffe: 'spiffe://example.org/ns/a' }, peer)).toBe(false);
    expect(await allows({ trustDomain: 'example.org' }, peer)).toBe(false);
  });
});

describe('trustDomain', () => {
  it.each([
    { domain: 'example.org', id: 'spiffe://example.org/ns/a', allowed: true },
    { domain: 'Example.ORG', id: 'spiffe://example.org/ns/a', allowed: true },
    { domain: 'example.org', id: 'spiffe://example.org.evil/ns/a', allowed: false },
    { domain: 'example.org', id: 'spiffe://sub.example.org/ns/a', allowed: false },
    { domain: 'example.org', id: 'spiffe://exampleXorg/ns/a', allowed: false },
  ])('$domain vs $id → $allowed', async ({ domain, id, allowed }) => {
    expect(await allows({ trustDomain: domain }, { spiffeId: id })).toBe(allowed);
  });
});
