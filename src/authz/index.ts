/**
 * Authorization: `requirePeer(policy)` and `explain(policy, peer)`.
 *
 * @module authz
 */

export type { SanRule } from './conditions.js';
export type { AuthzDecision, AuthzMode, AuthzReason } from './decision.js';
export { type ExplainOptions, type Explanation, explain } from './explain.js';
export type { ExplainStep } from './nodes.js';
export type { DistinguishedNameRule, Patterns, PeerCheck, PeerPolicy } from './policy.js';
export { type PeerState, type RequirePeerOptions, requirePeer } from './require-peer.js';
export type { RevocationOptions } from './revocation.js';
