import { describe, expect, it, vi } from 'vitest';
import { explain } from '../../src/authz/explain.js';
import type { PeerPolicy } from '../../src/authz/policy.js';
import { allows } from './helpers.js';
import { makePeer, type PeerInput } from './peer-fixture.js';

const web: PeerInput = { spiffeId: 'spiffe://example.org/ns/prod/sa/web', san: { dns: ['web.prod.example.org'] } };
const batch: PeerInput = { spiffeId: 'spiffe://example.org/ns/prod/sa/batch' };
const evil: PeerInput = { spiffeId: 'spiffe://evil.org/ns/prod/sa/web', san: { dns: ['web.prod.example.org'] } };

describe('combinators', () => {
  it.each<{ name: string; policy: PeerPolicy; peer: PeerInput; allowed: boolean }>([
    {
      name: 'every key of one object must hold',
      policy: { trustDomain: 'example.org', san: { dns: '*.prod.example.org' } },
      peer: web,
      allowed: true,
    },
    {
      name: 'one failing key denies',
      policy: { trustDomain: 'example.org', san: { dns: '*.prod.example.org' } },
      peer: batch,
      allowed: false,
    },
    {
      name: 'anyOf: the second entry',
      policy: { anyOf: [{ trustDomain: 'other.org' }, { trustDomain: 'example.org' }] },
      peer: batch,
      allowed: true,
    },
    {
      name: 'anyOf: no entry',
      policy: { anyOf: [{ trustDomain: 'other.org' }, { trustDomain: 'else.org' }] },
      peer: batch,
      allowed: false,
    },
    {
      name: 'allOf: all hold',
      policy: { allOf: [{ trustDomain: 'example.org' }, { san: { dns: 'web.prod.example.org' } }] },
      peer: web,
      allowed: true,
    },
    {
      name: 'allOf: one fails',
      policy: { allOf: [{ trustDomain: 'example.org' }, { san: { dns: 'web.prod.example.org' } }] },
      peer: evil,
      allowed: false,
    },
    {
      name: 'not: excluded peer',
      policy: { anyPeer: true, not: { trustDomain: 'evil.org' } },
      peer: evil,
      allowed: false,
    },
    { name: 'not: other peer', policy: { anyPeer: true, not: { trustDomain: 'evil.org' } }, peer: web, allowed: true },
    {
      name: 'not on an absent field holds (the peer is verified; defined, documented)',
      policy: { trustDomain: 'example.org', not: { san: { dns: 'admin.example.org' } } },
      peer: batch,
      allowed: true,
    },
    {
      name: 'nested anyOf inside allOf',
      policy: {
        allOf: [
          { trustDomain: 'example.org' },
          { anyOf: [{ spiffe: 'spiffe://example.org/ns/*/sa/batch' }, { san: { dns: 'x.example.org' } }] },
        ],
      },
      peer: batch,
      allowed: true,
    },
    { name: 'anyPeer', policy: { anyPeer: true }, peer: evil, allowed: true },
  ])('$name → $allowed', async ({ policy, peer, allowed }) => {
    expect(await allows(policy, peer)).toBe(allowed);
  });

  it('denies a not-rule without a peer: 401, not allow (ISTIO-SECURITY-2021-004)', async () => {
    const why = await explain({ anyPeer: true, not: { trustDomain: 'evil.org' } }, undefined);
    expect(why).toMatchObject({ allowed: false, reason: 'PEER_MISSING' });
  });
});

describe('check', () => {
  const ctx = {} as never;

  it.each([
    { name: 'true', result: true, allowed: true },
    { name: 'false', result: false, allowed: false },
    { name: 'a truthy non-boolean', result: 'yes', allowed: false },
    { name: 'a resolved true', result: Promise.resolve(true), allowed: true },
    { name: 'a resolved 1', result: Promise.resolve(1), allowed: false },
  ])('allows only on true: $name → $allowed', async ({ result, allowed }) => {
    const policy: PeerPolicy = { trustDomain: 'example.org', check: () => result as boolean };
    expect((await explain(policy, makePeer(web), { ctx })).allowed).toBe(allowed);
  });

  it('runs only after the other keys of its object hold', async () => {
    const check = vi.fn(() => true);
    await explain({ trustDomain: 'example.org', check }, makePeer(evil), { ctx });
    expect(check).not.toHaveBeenCalled();
    await explain({ trustDomain: 'example.org', check }, makePeer(web), { ctx });
    expect(check).toHaveBeenCalledTimes(1);
  });

  it('rejects with a 500 KoaMtlsError when it throws', async () => {
    const policy: PeerPolicy = {
      trustDomain: 'example.org',
      check: () => {
        throw new Error('boom');
      },
    };
    await expect(explain(policy, makePeer(web), { ctx })).rejects.toMatchObject({
      code: 'ERR_MTLS_POLICY_CHECK_FAILED',
      status: 500,
      expose: false,
    });
  });

  it('continues an anyOf after an async check that does not hold', async () => {
    const policy: PeerPolicy = {
      anyOf: [
        { trustDomain: 'example.org', check: async () => false },
        { spiffe: 'spiffe://example.org/ns/prod/sa/web' },
      ],
    };
    expect(await explain(policy, makePeer(web), { ctx })).toMatchObject({
      allowed: true,
      rule: 'policy.anyOf[1].spiffe',
    });
  });
});

describe('explain', () => {
  it('lists every evaluated condition with the peer values it compared', async () => {
    const policy: PeerPolicy = { anyOf: [{ trustDomain: 'other.org' }, { san: { dns: '*.example.com' } }] };
    const why = await explain(policy, makePeer({ san: { dns: ['a.b.example.com'] } }));
    expect(why.allowed).toBe(false);
    expect(why.reason).toBe('POLICY_NO_MATCH');
    expect(why.rule).toBe('policy.anyOf');
    expect(why.policy).toBe('anyOf(trustDomain in [other.org] | san.dns in [*.example.com])');
    expect(why.steps).toEqual([
      {
        rule: 'policy.anyOf[0].trustDomain',
        matched: false,
        detail: 'trustDomain in [other.org]: no entry matched; peer has spiffeId null',
      },
      {
        rule: 'policy.anyOf[1].san.dns',
        matched: false,
        detail: 'san.dns in [*.example.com]: no entry matched; peer has san.dns ["a.b.example.com"]',
      },
      {
        rule: 'policy.anyOf',
        matched: false,
        detail: 'anyOf(trustDomain in [other.org] | san.dns in [*.example.com]): no entry matched',
      },
    ]);
  });

  it('names the entry that allowed', async () => {
    const why = await explain(
      { san: { dns: ['a.example.com', '*.example.com'] } },
      makePeer({ san: { dns: ['b.example.com'] } }),
    );
    expect(why).toMatchObject({ allowed: true, reason: 'POLICY_MATCH', rule: 'policy.san.dns[1]' });
  });

  it('explains the policy of a requirePeer middleware with its options', async () => {
    const { requirePeer } = await import('../../src/authz/require-peer.js');
    const guard = requirePeer({ trustDomain: 'example.org' }, { allowProxyClaimed: true });
    const claimed = makePeer({ ...web, verifiedBy: 'proxy-claimed' });
    expect((await explain(guard, claimed)).allowed).toBe(true);
    expect((await explain({ trustDomain: 'example.org' }, claimed)).reason).toBe('PEER_PROXY_CLAIMED');
  });

  it('does not evaluate a check without a request context', async () => {
    const why = await explain({ trustDomain: 'example.org', check: () => true }, makePeer(web));
    expect(why.allowed).toBe(false);
    expect(why.steps.at(-1)?.detail).toBe('check not evaluated: it needs a request context');
  });

  it('rejects an invalid now', async () => {
    await expect(explain({ anyPeer: true }, makePeer(web), { now: new Date('nope') })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      path: 'options.now',
      message: '"options.now" must be a valid Date',
    });
  });

  it('checks validity at the given time', async () => {
    const peer = makePeer({ ...web, notAfter: new Date('2030-01-01T00:00:00Z') });
    const why = await explain({ trustDomain: 'example.org' }, peer, { now: new Date('2031-01-01T00:00:00Z') });
    expect(why.reason).toBe('PEER_EXPIRED');
  });
});
