/**
 * The HTTP/2 session behind a Koa request: the one place that reads `ctx.req.stream.session`. In HTTP/2 the session is
 * the connection (RFC 9113 §5: streams multiplexed on one connection), so it is the stable per-connection key (its
 * `socket` is a fresh proxy per stream) and what to destroy to drop the connection.
 */
import type { ServerHttp2Session } from 'node:http2';
import type { Context } from 'koa';

/** The parts of Node's `ServerHttp2Session` koa-mtls uses. */
export type Http2SessionOfRequest = Pick<ServerHttp2Session, 'socket' | 'destroy'>;

/** An HTTP/1.1 request has no `stream`; an HTTP/2 compatibility request has one, whose `session` is the connection. */
interface MaybeHttp2Request {
  readonly stream?: { readonly session?: Http2SessionOfRequest };
}

/** The request's HTTP/2 session, or `undefined` over HTTP/1.1 (a property read: no allocation on the hot path). */
export function http2SessionOf(ctx: Context): Http2SessionOfRequest | undefined {
  return (ctx.req as MaybeHttp2Request).stream?.session;
}
