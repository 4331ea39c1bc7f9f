/** Small helpers shared by the authorization tests. */
import { explain } from '../../src/authz/explain.js';
import type { PeerPolicy } from '../../src/authz/policy.js';
import { makePeer, type PeerInput } from './peer-fixture.js';

/** Whether `policy` allows a fixture peer built from `input` (startup opt-ins on, so tables can test matching). */
export async function allows(policy: PeerPolicy, input: PeerInput): Promise<boolean> {
  const explanation = await explain(policy, makePeer(input), { allowBareWildcards: true, allowCommonNameOnly: true });
  return explanation.allowed;
}
