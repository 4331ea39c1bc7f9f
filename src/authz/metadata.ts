/**
 * Metadata attached to every `requirePeer` middleware, so `describeRoutes(router)` can tell which policy guards a
 * route. Internal: not part of the public API.
 */
import type { AuthzMode } from './decision.js';

/**
 * The non-enumerable property key holding {@link AuthzMetadata} on a `requirePeer` middleware.
 */
// A registered symbol: the CLI (ESM) must read metadata set by an app that loaded the CJS build, or another copy.
export const AUTHZ_METADATA: unique symbol = Symbol.for('koa-mtls.authz');

/**
 * What a `requirePeer` middleware enforces.
 */
export interface AuthzMetadata {
  /** A readable one-line description of the compiled policy. */
  readonly description: string;
  readonly mode: AuthzMode;
  readonly allowProxyClaimed: boolean;
  readonly revocation: boolean;
}

/**
 * The authorization metadata of a middleware, or `undefined` when it is not a `requirePeer` middleware.
 */
export function authzMetadataOf(middleware: unknown): AuthzMetadata | undefined {
  if (typeof middleware !== 'function') return undefined;
  const value = (middleware as unknown as Record<symbol, unknown>)[AUTHZ_METADATA];
  return value === undefined ? undefined : (value as AuthzMetadata);
}
