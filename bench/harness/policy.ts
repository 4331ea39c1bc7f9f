/**
 * The benchmarks' 100-rule policy: 99 rules for other teams (SPIFFE IDs and patterns, DNS and URI globs, DN
 * attributes, IP ranges) that a bench client matches none of, then the rule that admits it — so every allowed
 * request evaluates the whole list.
 */
import type { PeerPolicy } from '../../src/authz/policy.js';

/** Rule `index` of the 99 non-matching ones. */
export function otherTeamRule(index: number): PeerPolicy {
  switch (index % 5) {
    case 0:
      return { spiffe: `spiffe://example.org/ns/team-${index}/sa/api` };
    case 1:
      return { spiffe: `spiffe://example.org/ns/team-${index}/sa/*` };
    case 2:
      return { san: { dns: `*.team-${index}.svc.example.com` } };
    case 3:
      return { subject: { O: 'Acme', OU: `team-${index}`, CN: 'svc-*' } };
    default:
      return { san: { uri: `https://team-${index}.example.com/workloads/**`, ip: '10.0.0.0/8' } };
  }
}

/** 99 rules for other teams, then `last` (default: the bench clients' namespace). */
export function hundredRulePolicy(last: PeerPolicy = { spiffe: 'spiffe://bench.test/ns/prod/sa/*' }): PeerPolicy {
  return { anyOf: [...Array.from({ length: 99 }, (_, index) => otherTeamRule(index)), last] };
}

/**
 * `rules` rules: other teams' exact SPIFFE IDs and DNS globs (the indexed kinds), then the rule that admits the bench
 * clients — for the throughput-vs-policy-size curve.
 */
export function scaledPolicy(rules: number): PeerPolicy {
  const others = Array.from({ length: Math.max(0, rules - 1) }, (_, index) =>
    index % 2 === 0
      ? { spiffe: `spiffe://example.org/ns/team-${index}/sa/api` }
      : { san: { dns: `*.team-${index}.svc.example.com` } },
  );
  return { anyOf: [...others, { spiffe: 'spiffe://bench.test/ns/prod/sa/*' }] };
}
