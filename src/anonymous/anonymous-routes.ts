/**
 * Which requests may go without a client certificate: those whose matched @koa/router route layers all carry the
 * {@link allowAnonymous} marker. Matching asks the router itself (`router.match`), so prefixes, nested routers,
 * parameters, case and trailing-slash rules are exactly the ones the router will apply.
 */
import { InvalidOptionError } from '../errors.js';
import { routeMetadataOf } from '../routes/route-metadata.js';

interface RouteLayer {
  readonly methods: readonly string[];
  readonly stack: readonly unknown[];
}

interface MatchingRouter {
  match(path: string, method: string): { readonly pathAndMethod: readonly RouteLayer[] };
  matchHost?(host: string): boolean;
}

/**
 * The routers or apps whose `allowAnonymous()` routes a certificate-less client may call: a @koa/router router, a
 * Koa app (its mounted routers, looked up per request), or a list of them. Structural, so @koa/router stays optional.
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { type AnonymousRoutes, allowAnonymous, peerCertificate } from 'koa-mtls';
 *
 * const publicRouter = new Router();
 * publicRouter.get('/healthz', allowAnonymous(), (ctx) => { ctx.body = 'ok'; });
 * const anonymousRoutes: AnonymousRoutes = [publicRouter, app];
 * app.use(peerCertificate({ anonymousRoutes }));
 * ```
 */
export type AnonymousRoutes = AnonymousRoutesEntry | readonly AnonymousRoutesEntry[];

/**
 * One entry of {@link AnonymousRoutes}.
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { type AnonymousRoutesEntry, allowAnonymous, peerCertificate } from 'koa-mtls';
 *
 * const health = new Router();
 * health.get('/healthz', allowAnonymous(), (ctx) => { ctx.body = 'ok'; });
 * const entry: AnonymousRoutesEntry = health;
 * app.use(peerCertificate({ anonymousRoutes: [entry] }));
 * ```
 */
export type AnonymousRoutesEntry =
  | { match(path: string, method: string): unknown; readonly stack: readonly unknown[] }
  | { readonly middleware: readonly unknown[] };

/** Decides for one request (method, path, host). */
export type AnonymousRouteMatcher = (method: string, path: string, host: string) => boolean;

const SHAPE = 'must be a @koa/router router, a Koa app, or an array of them';

function isMatchingRouter(value: unknown): value is MatchingRouter {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).match === 'function' &&
    Array.isArray((value as Record<string, unknown>).stack)
  );
}

function isKoaApp(value: unknown): value is { readonly middleware: readonly unknown[] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as Record<string, unknown>).middleware);
}

/** The routers of an app, read when asked: routes are usually mounted after `peerCertificate` is created. */
function routersOf(app: { readonly middleware: readonly unknown[] }): MatchingRouter[] {
  return app.middleware.flatMap((middleware) => {
    const router = typeof middleware === 'function' ? (middleware as { router?: unknown }).router : undefined;
    return isMatchingRouter(router) ? [router] : [];
  });
}

/** Compiles the `anonymousRoutes` option; throws {@link InvalidOptionError} at startup. */
export function compileAnonymousRoutes(value: unknown, path: string): AnonymousRouteMatcher {
  const entries = Array.isArray(value) ? value : [value];
  if (entries.length === 0) throw new InvalidOptionError(path, SHAPE);
  const sources = entries.map((entry, index) => {
    if (isMatchingRouter(entry)) return () => [entry];
    if (isKoaApp(entry)) return () => routersOf(entry);
    throw new InvalidOptionError(Array.isArray(value) ? `${path}[${index}]` : path, SHAPE);
  });
  return (method, requestPath, host) => {
    let routes = 0;
    for (const router of sources.flatMap((source) => source())) {
      if (router.matchHost !== undefined && !router.matchHost(host)) continue;
      for (const layer of router.match(requestPath, method).pathAndMethod) {
        // Router-level use() layers have no methods: shared middleware, not a route to declare.
        if (layer.methods.length === 0) continue;
        // Every route that would run must be declared: one undeclared layer in the chain denies (fail closed).
        if (!layer.stack.some((middleware) => routeMetadataOf(middleware, 'allowAnonymous') !== undefined))
          return false;
        routes += 1;
      }
    }
    return routes > 0;
  };
}
