/**
 * How a cold decision (a new identity's first request: its view normalized, the policy evaluated) grows with the
 * policy: `anyOf` lists of 1 to 10,000 one-condition rules per family, for a peer matching the last rule and a peer
 * matching none. And how memory behaves over 100,000 distinct identities when only the newest 1,000 stay referenced
 * (as with the identity cache): the verdict and view caches are weak, so they must not grow with the count.
 * Prints JSON.
 *
 * Run: node --expose-gc --import tsx bench/authz-scaling.ts [--quick]
 */
import { decide } from '../src/authz/authorizer.js';
import { PeerView } from '../src/authz/peer-view.js';
import type { PeerPolicy } from '../src/authz/policy.js';
import { authorizerOf, requirePeer } from '../src/authz/require-peer.js';
import type { PeerIdentity } from '../src/identity/peer-identity.js';
import { makePeer } from '../test/authz/peer-fixture.js';
import { otherTeamRule } from './harness/policy.js';
import { families, spiffeId } from './harness/policy-families.js';
import { summarize } from './harness/stats.js';

const quick = process.argv.includes('--quick');
const SIZES = [1, 10, 100, 1000, 10_000];
const DURATION_MS = quick ? 100 : 200;
const ROUNDS = quick ? 1 : 5;

function nsPer(run: () => void): number {
  // Warm up for a fixed time (not a count): a 10,000-rule scanned policy takes milliseconds per decision.
  const warmUntil = performance.now() + DURATION_MS / 2;
  while (performance.now() < warmUntil) run();
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(DURATION_MS) * 1_000_000n;
  let now = started;
  while (now < deadline) {
    for (let index = 0; index < 10; index++) run();
    count += 10;
    now = process.hrtime.bigint();
  }
  return Number(now - started) / count;
}

/** One policy size of one family: the decision to time for a peer matching the last rule and for one matching none. */
interface ScalingCase {
  readonly family: string;
  readonly rules: number;
  readonly matchLast: () => void;
  readonly matchNone: () => void;
}

/** Every family at every size; built and dropped inside {@link timeScaling}, before the memory run measures the heap. */
function scalingCases(): ScalingCase[] {
  return families.flatMap((family) =>
    SIZES.map((rules) => {
      const policy: PeerPolicy = { anyOf: Array.from({ length: rules }, (_, index) => family.rule(index)) };
      const authorizer = authorizerOf(requirePeer(policy));
      if (authorizer === undefined) throw new Error('no authorizer');
      const root = authorizer.compiled.root;
      const last = family.peer(rules - 1);
      const none = makePeer({
        seed: 'none',
        spiffeId: 'spiffe://example.org/ns/nobody/sa/x',
        san: { dns: ['x.nobody.example.com'] },
      });
      // Mixed rules 0 mod 5 are exact SPIFFE IDs: the family's peer `rules - 1` may not be matched; only check the others.
      const expected = decide(authorizer, last, undefined, { checkRevocation: false });
      if (!family.name.startsWith('mixed') && !(expected instanceof Promise) && expected.reason !== 'POLICY_MATCH') {
        throw new Error(`${family.name} ${rules}: the last rule did not match`);
      }
      return {
        family: family.name,
        rules,
        matchLast: () => root.evaluate(new PeerView(last), undefined, undefined),
        matchNone: () => root.evaluate(new PeerView(none), undefined, undefined),
      };
    }),
  );
}

// Every case once per round, the order rotated each round, the median over the rounds: a single timing of a few
// microseconds on a shared machine is noise (an earlier single-shot run gave exact DNS names 3.08× for 10,000 rules).
function timeScaling() {
  const cases = scalingCases();
  const matchLastSamples = cases.map((): number[] => []);
  const matchNoneSamples = cases.map((): number[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (k + round * 7) % cases.length;
      const scalingCase = cases[index] as ScalingCase;
      matchLastSamples[index]?.push(nsPer(scalingCase.matchLast));
      matchNoneSamples[index]?.push(nsPer(scalingCase.matchNone));
    }
  }
  return cases.map((scalingCase, index) => ({
    family: scalingCase.family,
    rules: scalingCase.rules,
    matchLastNs: Math.round(summarize(matchLastSamples[index] as number[]).median),
    matchNoneNs: Math.round(summarize(matchNoneSamples[index] as number[]).median),
  }));
}

const scaling = timeScaling();

/** Heap after a forced GC, MiB. */
function heapMiB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const identities = quick ? 20_000 : 100_000;
const retained = 1000;
const guard = authorizerOf(requirePeer({ anyOf: Array.from({ length: 100 }, (_, index) => otherTeamRule(index)) }));
if (guard === undefined) throw new Error('no authorizer');
const window: PeerIdentity[] = [];
const before = heapMiB();
let afterFirstWindow = before;
for (let index = 0; index < identities; index++) {
  const peer = makePeer({
    seed: `peer-${index}`,
    spiffeId: spiffeId(index % 5000),
    san: { dns: [`a.team-${index % 97}.svc.example.com`] },
  });
  decide(guard, peer, undefined, { checkRevocation: false });
  window[index % retained] = peer;
  if (index === retained * 2) afterFirstWindow = heapMiB();
}
const after = heapMiB();

console.log(
  JSON.stringify({
    bench: 'authz-scaling',
    node: process.version,
    scaling,
    memory: { identities, retained, heapBeforeMiB: before, heapAfter2kMiB: afterFirstWindow, heapAfterMiB: after },
  }),
);
