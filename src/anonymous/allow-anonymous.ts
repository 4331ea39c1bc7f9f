/**
 * `allowAnonymous()`: the marker that declares a route callable without a client certificate when the server
 * accepts such clients (`mtlsOptions({ clientCertificate: 'optional' })`). `peerCertificate` finds it on the
 * matched route before any handler runs; `describeRoutes` and `koa-mtls routes` show the route as anonymous.
 *
 * @module anonymous
 */
import type { Context, Middleware, Next } from 'koa';
import { attachRouteMetadata } from '../routes/route-metadata.js';

/**
 * Declares a route callable by clients without a certificate, on a server built with
 * `mtlsOptions({ clientCertificate: 'optional' })`. Every other route answers such clients 401 (default deny, in
 * `peerCertificate`). Put it first in the route's own middleware list; it only marks the route and calls `next()`.
 * A client that presents a certificate is still identified (and a certificate that fails verification is refused
 * at the handshake), so an anonymous route may also read `ctx.state.peer`.
 *
 * Pass the router (or the app) to `peerCertificate({ anonymousRoutes })` so the marker is seen before the route
 * runs; a marked route the middleware does not know about stays denied (fail closed).
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { allowAnonymous, peerCertificate, requirePeer } from 'koa-mtls';
 *
 * const router = new Router();
 * router.get('/healthz', allowAnonymous(), (ctx) => { ctx.body = 'ok'; });
 * router.get('/orders', requirePeer({ trustDomain: 'example.org' }), (ctx) => { ctx.body = []; });
 * app.use(peerCertificate({ anonymousRoutes: router })).use(router.routes());
 * ```
 */
export function allowAnonymous(): Middleware {
  async function allowAnonymousMiddleware(_ctx: Context, next: Next): Promise<void> {
    await next();
  }
  return attachRouteMetadata(allowAnonymousMiddleware, { kind: 'allowAnonymous' });
}
