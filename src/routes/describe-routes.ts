/**
 * `describeRoutes(router)`: the route inventory of a @koa/router (v13+) router or a Koa app, with the `requirePeer`
 * policies and `sandboxPath` sandboxes that run before each route's handler.
 *
 * @module routes/describe-routes
 */
import { METHODS } from 'node:http';
import type { AuthzMode } from '../authz/decision.js';
import { InvalidOptionError } from '../errors.js';
import type { SymlinkPolicy } from '../sandbox/fd-walk.js';
import type { SandboxMode } from '../sandbox/sandbox.js';
import { type PatternPart, patternVariants, samplePaths } from './path-pattern.js';
import { type RequirePeerMetadata, routeMetadataOf } from './route-metadata.js';

/**
 * Where a guard was attached: `app.use(…)` before the router, `router.use(…)` (or a nested router's `use`), or the
 * route's own middleware list.
 *
 * @example
 * ```ts
 * import type { GuardScope } from 'koa-mtls';
 *
 * const scope: GuardScope = 'router'; // the guard is router.use(...) middleware, not on the route itself
 * ```
 */
export type GuardScope = 'app' | 'router' | 'route';

/**
 * A `requirePeer` policy on a route's chain.
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { describeRoutes, type RoutePolicy } from 'koa-mtls';
 *
 * const router = new Router();
 * const policies: readonly RoutePolicy[] = describeRoutes(router).flatMap((route) => route.policies);
 * // [{ policy: 'trustDomain in [example.org]', mode: 'enforce', scope: 'router', … }]
 * ```
 */
export interface RoutePolicy {
  /** The compiled policy in one line: the same text `explain()` reports as `policy`. */
  readonly policy: string;
  readonly mode: AuthzMode;
  readonly scope: GuardScope;
  readonly allowProxyClaimed: boolean;
  readonly revocation: boolean;
}

/**
 * A `sandboxPath` guard on a route's chain. `root` is a real filesystem path: show it to operators, not clients.
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { describeRoutes, type RouteSandbox } from 'koa-mtls';
 *
 * const router = new Router();
 * const roots: readonly RouteSandbox[] = describeRoutes(router).flatMap((route) => route.sandboxes);
 * // [{ root: '/srv/files', symlinks: 'none', mode: 'fd-walk', allow: null, deny: [], scope: 'route' }]
 * ```
 */
export interface RouteSandbox {
  readonly root: string;
  readonly symlinks: SymlinkPolicy;
  readonly mode: SandboxMode;
  readonly allow: readonly string[] | null;
  readonly deny: readonly string[];
  readonly scope: GuardScope;
}

/**
 * What a reviewer should look at on a route.
 *
 * - `no-policy`: no `requirePeer` runs before the handler for every request, and the route is not declared anonymous;
 *   behind `mtlsOptions` any certificate the CA trusts calls it.
 * - `anonymous`: the route is declared with `allowAnonymous()`: on a server with `clientCertificate: 'optional'`,
 *   clients without a certificate may call it (every other route answers them 401).
 * - `report-only`: every policy on the route is in `mode: 'report'` (it logs, it never denies).
 * - `sandbox-without-policy`: a `sandboxPath` guards a route that no enforcing policy guards.
 * - `sandbox-before-policy`: the sandbox runs before the first enforcing policy (unauthenticated callers reach it).
 * - `partial-policy`: a router-level guard covers only some of the route's requests (it is not counted; best effort).
 * - `proxy-claimed`: a policy accepts identities a proxy only claimed.
 * - `unsafe-path-sandbox`: a sandbox runs in `unsafe-path` mode (no descriptor walk).
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { describeRoutes, type RouteFlag } from 'koa-mtls';
 *
 * const router = new Router();
 * const unguarded: RouteFlag = 'no-policy';
 * const risky = describeRoutes(router).filter((route) => route.flags.includes(unguarded));
 * ```
 */
export type RouteFlag =
  | 'no-policy'
  | 'anonymous'
  | 'report-only'
  | 'sandbox-without-policy'
  | 'sandbox-before-policy'
  | 'partial-policy'
  | 'proxy-claimed'
  | 'unsafe-path-sandbox';

/**
 * One route of the inventory.
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { describeRoutes, type RouteDescription } from 'koa-mtls';
 *
 * const router = new Router();
 * const routes: readonly RouteDescription[] = describeRoutes(router);
 * // [{ methods: ['GET'], path: '/v1/items/:id', guarded: true, … }]
 * ```
 */
export interface RouteDescription {
  /** Upper-case methods; the `HEAD` @koa/router adds to every `GET` route is left out; `['ALL']` for `router.all()`. */
  readonly methods: readonly string[];
  /** The full path as the router matches it (prefixes and mount paths applied), in @koa/router syntax. */
  readonly path: string;
  /** `'regexp'` for a route registered with a `RegExp`: `path` is then its source, and router-level guards are not resolved. */
  readonly pathKind: 'pattern' | 'regexp';
  /** The route's name (`router.get('name', '/path', …)`), when it has one. */
  readonly name?: string;
  /** Every `requirePeer` that runs before the route's handler, in order. */
  readonly policies: readonly RoutePolicy[];
  /**
   * Router-level policies that run for only some requests of the route (flag `partial-policy`), never counted in
   * `guarded`: for example a `router.use('/users/me', …)` before `/users/:id`, or a `router.use(guard)` under a
   * `prefix`, which @koa/router 15 matches case-sensitively while its routes match any case (`/V1/…`, CWE-178).
   */
  readonly partialPolicies: readonly RoutePolicy[];
  /** Every `sandboxPath` that runs before the route's handler, in order. */
  readonly sandboxes: readonly RouteSandbox[];
  /** At least one policy in `enforce` mode guards every request of the route. */
  readonly guarded: boolean;
  /**
   * Declared with `allowAnonymous()` in the route's own middleware list: callable without a client certificate on a
   * server with `clientCertificate: 'optional'` (the same test `peerCertificate` applies before the route runs).
   */
  readonly anonymous: boolean;
  readonly flags: readonly RouteFlag[];
}

interface LayerLike {
  readonly path: string | RegExp;
  readonly methods: readonly string[];
  readonly stack: readonly unknown[];
  readonly name?: unknown;
  readonly opts?: { readonly pathAsRegExp?: unknown };
  match(path: string): boolean;
}

interface RouterLike {
  readonly stack: readonly LayerLike[];
  readonly exclusive?: unknown;
}

const NOT_A_ROUTER = 'must be a @koa/router (v13 or later) router or a Koa app';
const HTTP_METHODS: ReadonlySet<string> = new Set(METHODS);

function isLayer(value: unknown): value is LayerLike {
  if (typeof value !== 'object' || value === null) return false;
  const layer = value as Record<string, unknown>;
  return (
    (typeof layer.path === 'string' || layer.path instanceof RegExp) &&
    Array.isArray(layer.methods) &&
    layer.methods.every((method) => typeof method === 'string') &&
    Array.isArray(layer.stack) &&
    typeof layer.match === 'function'
  );
}

/** The router behind a value, duck-typed: @koa/router is an optional peer and is never imported. */
function asRouter(value: unknown, path: string): RouterLike {
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError(path, NOT_A_ROUTER);
  const router = value as Record<string, unknown>;
  if (
    typeof router.routes !== 'function' ||
    typeof router.opts !== 'object' ||
    !Array.isArray(router.stack) ||
    !router.stack.every(isLayer)
  ) {
    throw new InvalidOptionError(path, NOT_A_ROUTER);
  }
  return value as RouterLike;
}

function isKoaApp(value: unknown): value is { readonly middleware: readonly unknown[] } {
  if (typeof value !== 'object' || value === null) return false;
  const app = value as Record<string, unknown>;
  return Array.isArray(app.middleware) && typeof app.use === 'function' && typeof app.callback === 'function';
}

interface ScopedMiddleware {
  readonly middleware: unknown;
  readonly scope: GuardScope;
}

function routeMethods(layer: LayerLike): string[] {
  const methods = [...new Set(layer.methods.map((method) => method.toUpperCase()))];
  // `router.all()` registers every method Node knows: one word reads better than 35.
  if ([...HTTP_METHODS].every((method) => methods.includes(method))) return ['ALL'];
  // @koa/router adds HEAD to every GET route; listing it would double every GET line.
  return methods.includes('GET') ? methods.filter((method) => method !== 'HEAD') : methods;
}

/** Which router-level layers run before `route` for every request, and whether any covers only some requests. */
function coverage(
  layers: readonly LayerLike[],
  index: number,
  variants: readonly (readonly PatternPart[])[] | undefined,
): { covering: LayerLike[]; partial: LayerLike[] } {
  const covering: LayerLike[] = [];
  const partial: LayerLike[] = [];
  // A regexp route cannot be sampled: no router-level guard is credited to it (fail closed).
  if (variants === undefined) return { covering, partial };
  const route = layers[index] as LayerLike;
  // Requests the route itself accepts in another spelling (upper case, a trailing slash) must meet the guard too: a
  // case-sensitive `use('/admin', guard)` does not cover `/ADMIN/x` on a case-insensitive nested route.
  const samples = samplePaths(variants)
    .flatMap((sample) => [sample, sample.toUpperCase(), `${sample}/`])
    .filter((sample) => route.match(sample));
  if (samples.length === 0) return { covering, partial };
  for (const layer of layers.slice(0, index)) {
    if (layer.methods.length > 0) continue;
    const matches = samples.filter((sample) => layer.match(sample)).length;
    if (matches === samples.length) covering.push(layer);
    else if (matches > 0 || overlaps(layer, route)) partial.push(layer);
  }
  return { covering, partial };
}

/** Best effort: a `use('/users/me', …)` guard covers some requests of `/users/:id` (its own samples match the route). */
function overlaps(use: LayerLike, route: LayerLike): boolean {
  if (typeof use.path !== 'string' || use.opts?.pathAsRegExp === true) return false;
  const variants = patternVariants(use.path);
  return variants !== undefined && samplePaths(variants).some((sample) => route.match(sample));
}

function policyOf(authz: RequirePeerMetadata, scope: GuardScope): RoutePolicy {
  return Object.freeze({
    policy: authz.description,
    mode: authz.mode,
    scope,
    allowProxyClaimed: authz.allowProxyClaimed,
    revocation: authz.revocation,
  });
}

function describeLayer(
  router: RouterLike,
  index: number,
  inherited: readonly ScopedMiddleware[],
): RouteDescription | undefined {
  const layer = router.stack[index] as LayerLike;
  if (layer.methods.length === 0) return undefined;
  const pathKind = typeof layer.path === 'string' ? 'pattern' : 'regexp';
  const path = typeof layer.path === 'string' ? layer.path : layer.path.source;
  const variants = typeof layer.path === 'string' ? patternVariants(layer.path) : undefined;
  // An exclusive router runs only one layer per request: router-level `use` guards never join a route's chain.
  const { covering, partial } =
    router.exclusive === true ? { covering: [], partial: [] } : coverage(router.stack, index, variants);

  const chain: ScopedMiddleware[] = [
    ...inherited,
    ...covering.flatMap((use) => use.stack.map((middleware) => ({ middleware, scope: 'router' as const }))),
    ...layer.stack.map((middleware) => ({ middleware, scope: 'route' as const })),
  ];
  const policies: RoutePolicy[] = [];
  const sandboxes: RouteSandbox[] = [];
  let firstEnforcing = -1;
  let firstSandbox = -1;
  for (const { middleware, scope } of chain) {
    const metadata = routeMetadataOf(middleware);
    if (metadata?.kind === 'requirePeer') {
      if (metadata.mode === 'enforce' && firstEnforcing < 0) firstEnforcing = policies.length + sandboxes.length;
      policies.push(policyOf(metadata, scope));
    } else if (metadata?.kind === 'sandboxPath') {
      if (firstSandbox < 0) firstSandbox = policies.length + sandboxes.length;
      const { root, symlinks, mode, allow, deny } = metadata;
      sandboxes.push(Object.freeze({ root, symlinks, mode, allow, deny, scope }));
    }
  }
  const guarded = firstEnforcing >= 0;
  // Only the route's own list counts: peerCertificate looks for the marker there, never in router-level use().
  const anonymous = layer.stack.some((middleware) => routeMetadataOf(middleware, 'allowAnonymous') !== undefined);
  const flags: RouteFlag[] = [];
  if (anonymous) flags.push('anonymous');
  if (policies.length === 0) {
    if (!anonymous) flags.push('no-policy');
  } else if (!guarded) flags.push('report-only');
  if (sandboxes.length > 0 && !guarded) flags.push('sandbox-without-policy');
  if (guarded && firstSandbox >= 0 && firstSandbox < firstEnforcing) flags.push('sandbox-before-policy');
  const partialPolicies = partial.flatMap((use) =>
    use.stack.flatMap((middleware) => {
      const authz = routeMetadataOf(middleware, 'requirePeer');
      return authz === undefined ? [] : [policyOf(authz, 'router')];
    }),
  );
  if (partialPolicies.length > 0) flags.push('partial-policy');
  if (policies.some((policy) => policy.allowProxyClaimed)) flags.push('proxy-claimed');
  if (sandboxes.some((sandbox) => sandbox.mode === 'unsafe-path')) flags.push('unsafe-path-sandbox');

  return Object.freeze({
    methods: Object.freeze(routeMethods(layer)),
    path,
    pathKind,
    ...(typeof layer.name === 'string' && layer.name !== '' ? { name: layer.name } : {}),
    policies: Object.freeze(policies),
    partialPolicies: Object.freeze(partialPolicies),
    sandboxes: Object.freeze(sandboxes),
    guarded,
    anonymous,
    flags: Object.freeze(flags),
  });
}

function describeRouter(router: RouterLike, inherited: readonly ScopedMiddleware[]): RouteDescription[] {
  const routes: RouteDescription[] = [];
  for (let index = 0; index < router.stack.length; index += 1) {
    const route = describeLayer(router, index, inherited);
    if (route !== undefined) routes.push(route);
  }
  return routes;
}

/**
 * Lists every route of a @koa/router (v13+) router, or of every router mounted on a Koa app, with the identity
 * policies and sandboxes that run before its handler, and flags for a reviewer (see {@link RouteFlag}).
 *
 * It reads the router's own `stack` (where @koa/router has already resolved `prefix` options and nested routers
 * mounted with `router.use('/v1', inner.routes())` into full paths) and the metadata `requirePeer` and `sandboxPath`
 * attach to their middleware: nothing is wrapped, no request is made. A `router.use(guard)` layer counts for a route
 * when it comes before the route and matches every request path of it; given an app, the middleware added with
 * `app.use()` before `router.routes()` counts for all of that router's routes.
 *
 * Limitations: guards hidden inside other middleware (a `koa-compose` of guards, `koa-mount`) are not seen; an
 * `exclusive` router runs one layer per request, so its router-level guards are not counted; routes registered with
 * a `RegExp` get no router-level guard credited; the router's `host` option is ignored.
 *
 * @throws InvalidOptionError when `target` is neither a @koa/router router nor a Koa app.
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { describeRoutes, requirePeer } from 'koa-mtls';
 *
 * const router = new Router({ prefix: '/v1' });
 * router.use('', requirePeer({ trustDomain: 'example.org' })); // '' : a path-less use() under a prefix is case-sensitive
 * router.get('/items/:id', (ctx) => { ctx.body = ctx.params.id; });
 * describeRoutes(router);
 * // [{ methods: ['GET'], path: '/v1/items/:id', guarded: true,
 * //    policies: [{ policy: 'trustDomain in [example.org]', mode: 'enforce', scope: 'router', … }], … }]
 * ```
 */
export function describeRoutes(target: unknown): readonly RouteDescription[] {
  if (!isKoaApp(target)) return Object.freeze(describeRouter(asRouter(target, 'router'), []));
  const routes: RouteDescription[] = [];
  const before: ScopedMiddleware[] = [];
  target.middleware.forEach((middleware, index) => {
    const router = typeof middleware === 'function' ? (middleware as { router?: unknown }).router : undefined;
    if (router === undefined) before.push({ middleware, scope: 'app' });
    else routes.push(...describeRouter(asRouter(router, `app.middleware[${index}].router`), before));
  });
  return Object.freeze(routes);
}
