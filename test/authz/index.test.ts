/**
 * The index (exact values hashed, globs in a trie, `anyOf` siblings merged per kind) must decide exactly as trying
 * every rule in order would: same reason, same rule. `explain` walks the tree in order (it records every step), the
 * middleware takes the indexed path, so comparing the two over random policies and peers checks the index.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type Outcome } from '../../src/authz/authorizer.js';
import { explain } from '../../src/authz/explain.js';
import type { PeerPolicy } from '../../src/authz/policy.js';
import { authorizerOf, requirePeer } from '../../src/authz/require-peer.js';
import type { PeerIdentity } from '../../src/identity/peer-identity.js';
import { fakeFingerprint, makePeer } from './peer-fixture.js';

const RULES: readonly PeerPolicy[] = [
  { spiffe: 'spiffe://example.org/ns/a/sa/web' },
  { spiffe: 'spiffe://example.org/ns/a/sa/*' },
  { spiffe: ['spiffe://example.org/ns/b/**', 'spiffe://example.org/ns/a/sa/web'] },
  { trustDomain: 'example.org' },
  { san: { dns: 'web.a.example.com' } },
  { san: { dns: '*.a.example.com' } },
  { san: { dns: '**.example.com' } },
  { san: { dns: ['api-*.b.example.com', 'web.a.example.com'] } },
  { san: { uri: 'https://id.example.com/users/*' } },
  { san: { uri: 'https://id.example.com/users/alice' } },
  { san: { uri: 'https://*.example.com/users/**' } },
  { san: { email: '*@a.example.com' } },
  { san: { email: 'ops@a.example.com' } },
  { san: { ip: '10.0.0.0/8' } },
  { san: { ip: '10.1.2.3' } },
  { fingerprint256: fakeFingerprint('cert:alice') },
  { issuerFingerprint256: fakeFingerprint('ca:acme-issuing') },
  { subject: { O: 'Acme', OU: 'a' } },
  { san: { dns: '*.a.example.com', uri: 'https://id.example.com/users/*' } },
  { anyOf: [{ san: { dns: 'x.example.com' } }, { spiffe: 'spiffe://example.org/ns/a/sa/*' }] },
  { anyPeer: true, not: { san: { uri: 'https://id.example.com/users/**' } } },
  { anyPeer: true, not: { san: { dns: '*.a.example.com' } } },
];

const PEERS: readonly PeerIdentity[] = [
  makePeer({ seed: 'alice', spiffeId: 'spiffe://example.org/ns/a/sa/web', san: { dns: ['web.a.example.com'] } }),
  makePeer({ seed: 'bob', spiffeId: 'spiffe://example.org/ns/b/sa/x/y', subject: [[['O', 'Acme']], [['OU', 'a']]] }),
  makePeer({ seed: 'carol', san: { uri: ['https://id.example.com/users/alice'], email: ['ops@a.example.com'] } }),
  makePeer({ seed: 'dave', san: { uri: ['https://id.example.com/users/..%2Fadmin'], ip: ['64:ff9b::a01:203'] } }),
  makePeer({ seed: 'erin', san: { dns: ['api-1.b.example.com', '*.a.example.com'], ip: ['192.168.0.1'] } }),
  makePeer({ seed: 'frank', san: { uri: ['https://www.example.com/users/a/b'], email: ['x@b.example.com'] } }),
  makePeer({ seed: 'grace', issuerChain: [fakeFingerprint('ca:other')], san: { dns: ['nothing.example.net'] } }),
];

/** The reason and rule of a synchronous decision (a policy's outcome is its root verdict, which carries more). */
function outcomeOf(decision: Outcome | Promise<Outcome>): Outcome {
  if (decision instanceof Promise) throw new Error('expected a synchronous decision');
  return { reason: decision.reason, rule: decision.rule };
}

describe('the indexed decision equals the in-order one', () => {
  it('for random anyOf lists of rules and every fixture peer (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...RULES), { minLength: 1, maxLength: 12 }), async (rules) => {
        const guard = requirePeer({ anyOf: rules }, { allowBareWildcards: true });
        const authorizer = authorizerOf(guard);
        if (authorizer === undefined) throw new Error('no authorizer');
        for (const peer of PEERS) {
          const indexed = outcomeOf(decide(authorizer, peer, undefined, { checkRevocation: false }));
          const inOrder = await explain(guard, peer);
          expect(indexed).toEqual({ reason: inOrder.reason, rule: inOrder.rule });
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('a policy of 10,000 rules', () => {
  const ids: string[] = Array.from({ length: 10_000 }, (_, index) => `spiffe://example.org/ns/team-${index}/sa/api`);
  const policy: PeerPolicy = {
    anyOf: ids.map((id, index) =>
      index % 2 === 0 ? { spiffe: id } : { san: { dns: `*.team-${index}.svc.example.com` } },
    ),
  };
  const authorizer = authorizerOf(requirePeer(policy));
  it.each([
    { name: 'the first rule', peer: { spiffeId: ids[0] as string }, rule: 'policy.anyOf[0].spiffe' },
    {
      name: 'a middle glob',
      peer: { san: { dns: ['a.team-5001.svc.example.com'] } },
      rule: 'policy.anyOf[5001].san.dns',
    },
    { name: 'the last exact rule', peer: { spiffeId: ids[9998] as string }, rule: 'policy.anyOf[9998].spiffe' },
    {
      name: 'the earlier of two matches',
      peer: { spiffeId: ids[8000] as string, san: { dns: ['a.team-7.svc.example.com'] } },
      rule: 'policy.anyOf[7].san.dns',
    },
  ])('allows $name', ({ peer, rule }) => {
    expect(outcomeOf(decide(authorizer as never, makePeer(peer), undefined))).toEqual({ reason: 'POLICY_MATCH', rule });
  });

  it('denies a peer matching none', () => {
    const peer = makePeer({
      spiffeId: 'spiffe://example.org/ns/team-1/sa/api',
      san: { dns: ['a.team-2.svc.example.com'] },
    });
    expect(outcomeOf(decide(authorizer as never, peer, undefined))).toEqual({
      reason: 'POLICY_NO_MATCH',
      rule: 'policy.anyOf',
    });
  });
});
