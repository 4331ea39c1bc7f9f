/**
 * Policy families for the scaling benchmarks: `anyOf` lists of one-condition rules of one kind, and a peer matched by
 * exactly one given rule.
 */
import type { PeerPolicy } from '../../src/authz/policy.js';
import type { PeerIdentity } from '../../src/identity/peer-identity.js';
import { fakeFingerprint, makePeer } from '../../test/authz/peer-fixture.js';
import { otherTeamRule } from './policy.js';

export interface Family {
  readonly name: string;
  readonly rule: (index: number) => PeerPolicy;
  /** A peer matched by rule `index` only. */
  readonly peer: (index: number) => PeerIdentity;
}

export const spiffeId = (index: number) => `spiffe://example.org/ns/team-${index}/sa/api`;
export const families: readonly Family[] = [
  {
    name: 'exact SPIFFE IDs',
    rule: (index) => ({ spiffe: spiffeId(index) }),
    peer: (index) => makePeer({ seed: `s${index}`, spiffeId: spiffeId(index) }),
  },
  {
    name: 'exact DNS names',
    rule: (index) => ({ san: { dns: `api.team-${index}.example.com` } }),
    peer: (index) => makePeer({ seed: `d${index}`, san: { dns: [`api.team-${index}.example.com`] } }),
  },
  {
    name: 'fingerprints',
    rule: (index) => ({ fingerprint256: fakeFingerprint(`cert:f${index}`) }),
    peer: (index) => makePeer({ seed: `f${index}` }),
  },
  {
    name: 'SPIFFE globs',
    rule: (index) => ({ spiffe: `spiffe://example.org/ns/team-${index}/sa/*` }),
    peer: (index) => makePeer({ seed: `g${index}`, spiffeId: spiffeId(index) }),
  },
  {
    name: 'DNS globs',
    rule: (index) => ({ san: { dns: `*.team-${index}.svc.example.com` } }),
    peer: (index) => makePeer({ seed: `h${index}`, san: { dns: [`a.team-${index}.svc.example.com`] } }),
  },
  {
    name: 'mixed (the 100-rule bench policy, DN rules scanned)',
    rule: otherTeamRule,
    peer: (index) => makePeer({ seed: `m${index}`, spiffeId: spiffeId(index) }),
  },
];

/** The family `name`'s policy of `rules` rules. */
export function familyPolicy(family: Family, rules: number): PeerPolicy {
  return { anyOf: Array.from({ length: rules }, (_, index) => family.rule(index)) };
}
