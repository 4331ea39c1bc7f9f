import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuthzDecision } from '../../src/authz/decision.js';
import type { PeerPolicy } from '../../src/authz/policy.js';
import { requirePeer } from '../../src/authz/require-peer.js';
import { createRevocationChecker, type RevocationOptions } from '../../src/authz/revocation.js';
import type { PeerIdentity } from '../../src/identity/peer-identity.js';
import { type Harness, serve } from './koa-harness.js';
import { makePeer } from './peer-fixture.js';

const policy: PeerPolicy = { trustDomain: 'example.org' };
const peers = {
  a: makePeer({ seed: 'a', spiffeId: 'spiffe://example.org/a' }),
  b: makePeer({ seed: 'b', spiffeId: 'spiffe://example.org/b' }),
  outsider: makePeer({ seed: 'outsider', spiffeId: 'spiffe://other.org/a' }),
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(revocation: Omit<RevocationOptions, 'isRevoked'>, isRevoked: RevocationOptions['isRevoked']) {
  const decisions: AuthzDecision[] = [];
  const calls: string[] = [];
  const hook = (peer: PeerIdentity) => {
    calls.push(peer.spiffeId ?? '');
    return isRevoked(peer);
  };
  harness = await serve(
    requirePeer(policy, { revocation: { ...revocation, isRevoked: hook }, onDecision: (d) => decisions.push(d) }),
    peers,
  );
  return { h: harness, decisions, calls };
}

describe('revocation', () => {
  it.each([
    { name: 'answers revoked', hook: () => true, reason: 'PEER_REVOKED' },
    {
      name: 'throws',
      hook: () => {
        throw new Error('CRL unreadable');
      },
      reason: 'REVOCATION_ERROR',
    },
    { name: 'rejects', hook: () => Promise.reject(new Error('OCSP down')), reason: 'REVOCATION_ERROR' },
    { name: 'answers a non-boolean', hook: () => 'no' as unknown as boolean, reason: 'REVOCATION_ERROR' },
    { name: 'never answers', hook: () => new Promise<boolean>(() => {}), reason: 'REVOCATION_TIMEOUT' },
  ])('denies with 403 when the hook $name (fail closed)', async ({ hook, reason }) => {
    const { h, decisions } = await start({ timeoutMs: 50 }, hook);
    expect(await h.request('/', 'a')).toEqual({ status: 403, body: 'Forbidden' });
    expect(h.handlerRuns()).toBe(0);
    expect(decisions.map((d) => [d.reason, d.allowed])).toEqual([[reason, false]]);
  });

  it('allows a good certificate', async () => {
    const { h } = await start({}, async () => false);
    expect(await h.request('/', 'a')).toEqual({ status: 200, body: 'handled' });
  });

  it.each([
    { name: 'throws', hook: () => Promise.reject(new Error('x')) },
    { name: 'times out', hook: () => new Promise<boolean>(() => {}) },
  ])('allows with failOpen: true when the hook $name, and says so in the decision', async ({ hook }) => {
    const { h, decisions } = await start({ failOpen: true, timeoutMs: 50 }, hook);
    expect(await h.request('/', 'a')).toEqual({ status: 200, body: 'handled' });
    expect(decisions[0]).toMatchObject({ allowed: true, outcome: 'allow', reason: 'REVOCATION_FAIL_OPEN' });
  });

  it('still denies a revoked certificate with failOpen: true', async () => {
    const { h } = await start({ failOpen: true }, () => true);
    expect((await h.request('/', 'a')).status).toBe(403);
  });

  it('is not asked when the policy already denies', async () => {
    const { h, calls } = await start({}, () => false);
    expect((await h.request('/', 'outsider')).status).toBe(403);
    expect(calls).toEqual([]);
  });

  describe('cache', () => {
    it('reuses an answer for the same certificate', async () => {
      const { h, calls } = await start({}, () => false);
      await h.request('/', 'a');
      await h.request('/', 'a');
      await h.request('/', 'b');
      expect(calls).toEqual(['spiffe://example.org/a', 'spiffe://example.org/b']);
    });

    it('asks every time with cacheTtlMs: 0', async () => {
      const { h, calls } = await start({ cacheTtlMs: 0 }, () => false);
      await h.request('/', 'a');
      await h.request('/', 'a');
      expect(calls).toHaveLength(2);
    });

    it('does not cache failures', async () => {
      const { h, calls } = await start({}, () => {
        throw new Error('x');
      });
      await h.request('/', 'a');
      await h.request('/', 'a');
      expect(calls).toHaveLength(2);
    });

    it('evicts the oldest entry beyond cacheSize', async () => {
      const { h, calls } = await start({ cacheSize: 1 }, () => false);
      for (const peer of ['a', 'b', 'a']) await h.request('/', peer);
      expect(calls).toHaveLength(3);
    });

    it('picks up a newly revoked certificate once cacheTtlMs has passed', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        const denylist = new Set<string>();
        const checker = createRevocationChecker(
          { isRevoked: (peer: PeerIdentity) => denylist.has(peer.serialNumber), cacheTtlMs: 1000 },
          'options.revocation',
        );
        expect(await checker.check(peers.a)).toBe('good');
        denylist.add(peers.a.serialNumber);
        vi.setSystemTime(Date.now() + 999);
        expect(await checker.check(peers.a)).toBe('good');
        vi.setSystemTime(Date.now() + 2);
        expect(await checker.check(peers.a)).toBe('revoked');
      } finally {
        vi.useRealTimers();
      }
    });

    it('asks once for concurrent requests with the same certificate', async () => {
      let calls = 0;
      let release: (value: boolean) => void = () => {};
      const checker = createRevocationChecker(
        {
          isRevoked: () => {
            calls++;
            return new Promise<boolean>((resolve) => {
              release = resolve;
            });
          },
        },
        'options.revocation',
      );
      const first = checker.check(peers.a);
      const second = checker.check(peers.a);
      release(true);
      expect(await Promise.all([first, second])).toEqual(['revoked', 'revoked']);
      expect(calls).toBe(1);
      expect(checker.check(peers.a)).toBe('revoked');
    });
  });
});
