/**
 * Authorization: `requirePeer(policy)` and `explain(policy, peer)`.
 *
 * @module authz
 */
export type { AuthzDecision, AuthzMode, AuthzReason } from './decision.js';
export { type ExplainOptions, type Explanation, explain } from './explain.js';
export type { ExplainStep } from './nodes.js';
export type { DistinguishedNameRule, Patterns, PeerCheck, PeerPolicy, SanRule } from './policy.js';
export { type PeerState, type RequirePeerOptions, requirePeer } from './require-peer.js';
export type { RevocationOptions } from './revocation.js';
