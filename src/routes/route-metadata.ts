/**
 * The one way a guard tells the route inventory what it enforces: `requirePeer`, `sandboxPath` and `allowAnonymous`
 * attach a {@link RouteMetadata} to the middleware they return, under one registered symbol, and `describeRoutes`,
 * `koa-mtls routes` and `peerCertificate({ anonymousRoutes })` read it back with {@link routeMetadataOf}. Internal:
 * not part of the public API.
 *
 * @module routes/route-metadata
 */
import type { AuthzMode } from '../authz/decision.js';
import type { SymlinkPolicy } from '../sandbox/fd-walk.js';
import type { SandboxMode } from '../sandbox/sandbox.js';

/** What a `requirePeer` middleware enforces. */
export interface RequirePeerMetadata {
  readonly kind: 'requirePeer';
  /** A readable one-line description of the compiled policy (the text `explain()` reports as `policy`). */
  readonly description: string;
  readonly mode: AuthzMode;
  readonly allowProxyClaimed: boolean;
  readonly revocation: boolean;
}

/** What a `sandboxPath` middleware confines paths to. */
export interface SandboxPathMetadata {
  readonly kind: 'sandboxPath';
  /** The sandbox's real root (operator-only). */
  readonly root: string;
  readonly symlinks: SymlinkPolicy;
  /** `'fd-walk'`, or `'unsafe-path'` for a sandbox created with `unsafePathMode` where the walk was unavailable. */
  readonly mode: SandboxMode;
  /** Allow globs (`null`: none) and deny globs, as configured. */
  readonly allow: readonly string[] | null;
  readonly deny: readonly string[];
}

/** The `allowAnonymous()` marker: the route may be called without a client certificate. */
export interface AllowAnonymousMetadata {
  readonly kind: 'allowAnonymous';
}

/** The metadata of one guard, told apart by `kind` (the name of the factory that made the middleware). */
export type RouteMetadata = RequirePeerMetadata | SandboxPathMetadata | AllowAnonymousMetadata;

/** The kinds of {@link RouteMetadata}. */
export type RouteMetadataKind = RouteMetadata['kind'];

/** The non-enumerable property key holding a guard's {@link RouteMetadata}; read it with {@link routeMetadataOf}. */
// A registered symbol: the CLI (ESM) must read metadata set by an app that loaded the CJS build, or another copy.
export const ROUTE_METADATA: unique symbol = Symbol.for('koa-mtls.route');

const KINDS: ReadonlySet<string> = new Set<RouteMetadataKind>(['requirePeer', 'sandboxPath', 'allowAnonymous']);

/** Attaches `metadata` (frozen, non-enumerable) to `middleware` and returns the middleware. */
export function attachRouteMetadata<M extends object>(middleware: M, metadata: RouteMetadata): M {
  Object.defineProperty(middleware, ROUTE_METADATA, { value: Object.freeze(metadata), enumerable: false });
  return middleware;
}

/**
 * The metadata a guard attached to `middleware` — of the given `kind` only, when one is given — or `undefined` for
 * any other value (plain middleware, a guard of another kind, a value without a known `kind`).
 */
export function routeMetadataOf(middleware: unknown): RouteMetadata | undefined;
export function routeMetadataOf<K extends RouteMetadataKind>(
  middleware: unknown,
  kind: K,
): Extract<RouteMetadata, { readonly kind: K }> | undefined;
export function routeMetadataOf(middleware: unknown, kind?: RouteMetadataKind): RouteMetadata | undefined {
  if (typeof middleware !== 'function') return undefined;
  const value: unknown = (middleware as unknown as Record<symbol, unknown>)[ROUTE_METADATA];
  if (typeof value !== 'object' || value === null) return undefined;
  const found = (value as { readonly kind?: unknown }).kind;
  if (kind !== undefined) return found === kind ? (value as RouteMetadata) : undefined;
  return typeof found === 'string' && KINDS.has(found) ? (value as RouteMetadata) : undefined;
}
