/**
 * One process, one measurement for the instruction counter: `iterations` cold decisions (a fresh view of the
 * identity, the whole policy evaluated) of the family's `rules`-rule policy for a peer matching its last rule. Run
 * twice under callgrind with two iteration counts; the difference divided by the extra iterations is the cost of one
 * decision, free of start-up and compilation.
 *
 * Usage: node bench-bundle.mjs <family index> <rules> <iterations>
 */
import { PeerView } from '../src/authz/peer-view.js';
import { authorizerOf, requirePeer } from '../src/authz/require-peer.js';
import { families, familyPolicy } from './harness/policy-families.js';

const [familyText, rulesText, iterationsText] = process.argv.slice(2);
const family = families[Number(familyText)];
if (family === undefined) throw new Error('unknown family');
const rules = Number(rulesText);
const authorizer = authorizerOf(requirePeer(familyPolicy(family, rules)));
if (authorizer === undefined) throw new Error('no authorizer');
const root = authorizer.compiled.root;
const peer = family.peer(rules - 1);
for (let index = 0; index < Number(iterationsText); index++) root.evaluate(new PeerView(peer), undefined, undefined);
