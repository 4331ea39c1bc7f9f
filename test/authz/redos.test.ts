import { describe, expect, it } from 'vitest';
import { explain } from '../../src/authz/explain.js';
import type { PeerPolicy } from '../../src/authz/policy.js';
import { allows } from './helpers.js';
import { makePeer, type PeerInput } from './peer-fixture.js';

// ReDoS (CWE-1333, the CVE-2026-27903/27904 class): a long, non-matching value against the worst patterns the policy
// language accepts answers quickly. The bound is generous on purpose: it catches polynomial backtracking, not speed.
const deepPath = `/${'a/'.repeat(1000)}b`;
const longSegment = 'a'.repeat(2000);

describe('when a long non-matching value meets a wildcard-heavy pattern', () => {
  it.each<{ name: string; policy: PeerPolicy; peer: PeerInput }>([
    {
      name: 'URI globstars over 1000 segments',
      policy: { san: { uri: 'https://h.example.com/**/a/**/a/**/a/**/x' } },
      peer: { san: { uri: [`https://h.example.com${deepPath}`] } },
    },
    {
      name: 'SPIFFE globstars over 1000 segments',
      policy: { spiffe: 'spiffe://example.org/**/a/**/a/**/x' },
      peer: { spiffeId: `spiffe://example.org${deepPath.slice(0, 2000)}` },
    },
    {
      name: 'a one-star URI segment over 2000 characters',
      policy: { san: { uri: 'https://h.example.com/a*x' } },
      peer: { san: { uri: [`https://h.example.com/${longSegment}`] } },
    },
    {
      name: 'a many-star DN value over 2000 characters',
      policy: { subject: { O: '*a*a*a*a*a*a*a*x' }, san: { dns: 'x.example.com' } },
      peer: { subject: [[['O', longSegment]]], san: { dns: ['x.example.com'] } },
    },
  ])('answers within 1000 ms: $name', async ({ policy, peer }) => {
    const started = performance.now();
    const why = await explain(policy, makePeer(peer));
    expect(why.allowed).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('DN values with several wildcards', () => {
  it.each([
    { pattern: '*-*-prod', value: 'svc-eu-prod', allowed: true },
    { pattern: '*-*-prod', value: 'svc-prod', allowed: false },
    { pattern: 'a*b*c', value: 'abc', allowed: true },
    { pattern: 'a*b*c', value: 'acb', allowed: false },
    { pattern: 'ab*ba', value: 'aba', allowed: false },
    { pattern: '*x*', value: 'x', allowed: true },
  ])('$pattern vs $value → $allowed', async ({ pattern, value, allowed }) => {
    expect(await allows({ subject: { O: pattern } }, { subject: [[['O', value]]] })).toBe(allowed);
  });
});
