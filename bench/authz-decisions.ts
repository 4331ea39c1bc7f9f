/**
 * Decisions per second of a compiled 100-rule policy, for a peer matching the first rule, one matching the last rule,
 * and one matching none (every rule evaluated). Prints JSON; the lead's harness collects it.
 *
 * Run: npx tsx bench/authz-decisions.ts
 */
import type { Context } from 'koa';
import { decide } from '../src/authz/authorizer.js';
import { PeerView } from '../src/authz/peer-view.js';
import type { PeerPolicy } from '../src/authz/policy.js';
import { authorizerOf, requirePeer } from '../src/authz/require-peer.js';
import type { PeerIdentity } from '../src/identity/peer-identity.js';
import { makePeer } from '../test/authz/peer-fixture.js';
import { hundredRulePolicy } from './harness/policy.js';

const RULES = 100;
const DURATION_MS = 400;

const policy: PeerPolicy = hundredRulePolicy({
  san: { uri: 'https://team-99.example.com/workloads/**', ip: '10.0.0.0/8' },
});
const guard = requirePeer(policy);
const authorizer = authorizerOf(guard);
if (authorizer === undefined) throw new Error('no authorizer');

const peers: Record<string, PeerIdentity> = {
  'match-first-rule': makePeer({ seed: 'first', spiffeId: 'spiffe://example.org/ns/team-0/sa/api' }),
  'match-last-rule': makePeer({
    seed: 'last',
    san: { uri: ['https://team-99.example.com/workloads/a/b'], ip: ['10.1.2.3'], dns: ['x.example.com'] },
  }),
  'match-none': makePeer({
    seed: 'none',
    spiffeId: 'spiffe://example.org/ns/team-5/sa/nope',
    subject: [[['O', 'Acme']], [['OU', 'team-3']], [['CN', 'db']]],
    san: { dns: ['api.team-2.svc.example.org'], uri: ['https://team-4.example.com/other'], ip: ['192.168.1.1'] },
  }),
};

function measure(run: () => void): { decisionsPerSecond: number; nsPerDecision: number } {
  for (let index = 0; index < 10_000; index++) run();
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(DURATION_MS) * 1_000_000n;
  let now = started;
  while (now < deadline) {
    for (let index = 0; index < 1000; index++) run();
    count += 1000;
    now = process.hrtime.bigint();
  }
  const ns = Number(now - started) / count;
  return { decisionsPerSecond: Math.round(1e9 / ns), nsPerDecision: Math.round(ns) };
}

const results = Object.entries(peers)
  .map(([name, peer]) => {
    const expected = name !== 'match-none';
    const now = Date.now();
    const outcome = decide(authorizer, peer, undefined, { checkRevocation: false, now });
    if (outcome instanceof Promise || (outcome.reason === 'POLICY_MATCH') !== expected)
      throw new Error(`${name}: wrong decision`);
    // Cold: the policy evaluated over a fresh view of the identity (a new connection's first request).
    const root = authorizer.compiled.root;
    const cold = measure(() => root.evaluate(new PeerView(peer), undefined, undefined));
    // Cached: what later requests on the same connection pay (the verdict is memoized per identity).
    const cached = measure(() => decide(authorizer, peer, undefined, { checkRevocation: false, now }));
    return { case: `${name} (cold)`, ...cold, cached: { case: `${name} (cached)`, ...cached } };
  })
  .flatMap(({ cached, ...cold }) => [cold, cached]);

// The middleware on the allow path, with a minimal context (no hooks, so no decision object is built).
const ctx = { state: { peer: peers['match-last-rule'] }, get: () => '' } as unknown as Context;
const next = async () => {};
const started = process.hrtime.bigint();
const iterations = 200_000;
for (let index = 0; index < iterations; index++) await guard(ctx, next);
const middlewareNs = Number(process.hrtime.bigint() - started) / iterations;

console.log(
  JSON.stringify(
    {
      bench: 'authz-decisions',
      node: process.version,
      policyRules: RULES,
      results: [
        ...results,
        {
          case: 'middleware-allow-match-last-rule',
          decisionsPerSecond: Math.round(1e9 / middlewareNs),
          nsPerDecision: Math.round(middlewareNs),
        },
      ],
    },
    null,
    2,
  ),
);
