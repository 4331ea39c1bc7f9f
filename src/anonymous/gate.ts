/**
 * The default deny of the optional-client-certificate mode, decided in `peerCertificate` before any route runs: on
 * a server that accepts certificate-less clients, such a client reaches only routes declared with
 * `allowAnonymous()`; a client whose presented certificate failed verification is refused outright.
 */
import type { Context } from 'koa';
import { tlsSocketOf } from '../identity/socket-peer.js';
import { http2SessionOf } from '../tls/http2-session.js';
import type { AnonymousRouteMatcher } from './anonymous-routes.js';
import { acceptsAnonymousClients, refuseUnverified } from './optional-mode.js';

/**
 * - `not-applicable`: not a TLS connection of an optional-mode server, or the client has a verified certificate;
 * - `anonymous`: no certificate, on a route declared anonymous;
 * - `deny`: no certificate, on any other route (or no route at all);
 * - `refused`: the presented certificate failed verification; the connection is gone.
 */
export type AnonymousVerdict = 'not-applicable' | 'anonymous' | 'deny' | 'refused';

/** Decides for a request that has no peer. */
export function anonymousVerdict(ctx: Context, anonymousRoute: AnonymousRouteMatcher | undefined): AnonymousVerdict {
  const session = http2SessionOf(ctx);
  const socket = tlsSocketOf(ctx, session);
  if (socket === undefined || !acceptsAnonymousClients(socket)) return 'not-applicable';
  if (socket.authorized === true) return 'not-applicable';
  if (refuseUnverified(socket, session)) return 'refused';
  return anonymousRoute?.(ctx.method, ctx.path, ctx.host) === true ? 'anonymous' : 'deny';
}
