/**
 * `guardUpgrade()`: Koa middleware for HTTP/1.1 `upgrade` requests (WebSocket), which Node hands to the server's
 * `upgrade` event and never to Koa. The same `peerCertificate` and `requirePeer` middleware decide before the
 * WebSocket server accepts, and the identity reaches the socket handler.
 *
 * @module upgrade
 */
import { type IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import { InvalidOptionError } from '../errors.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import { assertOptionsObject, optionalFunction, ownValue } from '../options/validate.js';

/**
 * Options of {@link guardUpgrade}.
 *
 * @example
 * ```ts
 * import { type GuardUpgradeOptions, peerCertificate, requirePeer } from 'koa-mtls';
 * import { WebSocketServer } from 'ws';
 *
 * const wss = new WebSocketServer({ noServer: true });
 * const options: GuardUpgradeOptions = {
 *   middleware: [peerCertificate(), requirePeer({ anyPeer: true })],
 *   accept: (request, socket, head) => wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request)),
 * };
 * ```
 */
export interface GuardUpgradeOptions {
  /**
   * Koa middleware run in order before the upgrade is accepted, typically `peerCertificate(…)` then
   * `requirePeer(…)`. The upgrade is accepted only when every one calls `next()`; a thrown error (401, 403) or a
   * middleware that stops the chain refuses it with an HTTP response on the raw socket.
   */
  readonly middleware: readonly Middleware[];
  /**
   * Completes the upgrade, with the request's verified peer (`ctx.state.peer`). With `ws`:
   * `wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request, peer))`.
   */
  readonly accept: (request: IncomingMessage, socket: Duplex, head: Buffer, peer: PeerIdentity | undefined) => void;
}

/** The structural Koa app this needs: its context factory and its error event. */
type KoaApp = Pick<Koa, 'createContext' | 'emit'>;

/** Writes a minimal HTTP/1.1 response on the raw socket and closes it (no upgrade happened). */
function refuse(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The status and client-facing message of a refusal: exposed 4xx messages only (Koa's rule), else the status text. */
function statusOf(error: unknown): { status: number; message: string } {
  const candidate = error as { status?: unknown; expose?: unknown; message?: unknown };
  const status =
    typeof candidate?.status === 'number' && candidate.status >= 400 && candidate.status < 600 ? candidate.status : 500;
  const message =
    candidate?.expose === true && typeof candidate.message === 'string'
      ? candidate.message
      : (STATUS_CODES[status] ?? 'Error');
  return { status, message };
}

/**
 * Returns a listener for the server's `upgrade` event that runs Koa middleware — `peerCertificate` then
 * `requirePeer`, as on routes — before `accept` completes the upgrade. A denied upgrade gets the same 401/403 a
 * route would answer (a generic body) and the socket is closed; the WebSocket server never sees it. On a server
 * built with `mtlsOptions({ clientCertificate: 'optional' })` a client without a certificate is denied unless the
 * upgrade path is an `allowAnonymous()` route known to `peerCertificate`.
 *
 * It needs no WebSocket library: `accept` receives what Node's `upgrade` event gives, plus the peer.
 *
 * Limitations: HTTP/1.1 upgrades only. HTTP/2 extended CONNECT (RFC 8441 WebSockets) is not supported: servers
 * built with `mtlsOptions` do not advertise `SETTINGS_ENABLE_CONNECT_PROTOCOL`, so clients use HTTP/1.1 for
 * WebSockets. The middleware run on a context without a response object: a middleware that writes a body or
 * headers for the upgrade is not supported (a body set without `next()` refuses the upgrade with its status).
 *
 * @throws InvalidOptionError at startup for a missing app, an empty middleware list or a missing `accept`.
 * @example
 * ```ts
 * import https from 'node:https';
 * import Koa from 'koa';
 * import { WebSocketServer } from 'ws';
 * import { guardUpgrade, mtlsOptions, peerCertificate, requirePeer } from 'koa-mtls';
 *
 * const app = new Koa();
 * const server = https.createServer(mtlsOptions({ keyFile: 'tls.key', certFile: 'tls.crt', caFile: 'ca.crt' }), app.callback());
 * const wss = new WebSocketServer({ noServer: true });
 * server.on('upgrade', guardUpgrade(app, {
 *   middleware: [peerCertificate(), requirePeer({ spiffe: 'spiffe://example.org/ns/chat/sa/*' })],
 *   accept: (request, socket, head, peer) =>
 *     wss.handleUpgrade(request, socket, head, (ws) => ws.send(`hello ${peer?.spiffeId}`)),
 * }));
 * ```
 */
export function guardUpgrade(
  app: KoaApp,
  options: GuardUpgradeOptions,
): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  if (typeof app?.createContext !== 'function') throw new InvalidOptionError('guardUpgrade.app', 'must be a Koa app');
  assertOptionsObject(options, 'guardUpgrade', ['middleware', 'accept']);
  const middleware = ownValue(options, 'middleware');
  if (
    !Array.isArray(middleware) ||
    middleware.length === 0 ||
    !middleware.every((item) => typeof item === 'function')
  ) {
    throw new InvalidOptionError('guardUpgrade.middleware', 'must be a non-empty array of Koa middleware');
  }
  const accept = optionalFunction<GuardUpgradeOptions['accept']>(options, 'accept', 'guardUpgrade');
  if (accept === undefined) throw new InvalidOptionError('guardUpgrade.accept', 'is required');
  const chain = Object.freeze([...(middleware as Middleware[])]);

  /** Runs the chain; resolves to whether the last middleware called `next()`. */
  async function passes(ctx: Context): Promise<boolean> {
    let index = -1;
    const dispatch = async (position: number): Promise<boolean> => {
      // koa-compose's rule: next() twice is a bug in the middleware, never a second pass.
      if (position <= index) throw new Error('next() called multiple times');
      index = position;
      const current = chain[position];
      if (current === undefined) return true;
      let reached = false;
      await current(ctx, async () => {
        reached = await dispatch(position + 1);
      });
      return reached;
    };
    return dispatch(0);
  }

  return function guardUpgradeListener(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A context like Koa's own, on a response object that is never attached to the socket.
    const ctx = app.createContext(request, new ServerResponse(request));
    passes(ctx).then(
      (passed) => {
        if (socket.destroyed) return;
        if (!passed) {
          // A middleware ended the chain without an error (or destroyed the connection, handled above).
          const status = ctx.status >= 400 ? ctx.status : 403;
          refuse(socket, status, STATUS_CODES[status] ?? 'Error');
          return;
        }
        accept(request, socket, head, ctx.state.peer);
      },
      (error: unknown) => {
        const { status, message } = statusOf(error);
        if (status >= 500) app.emit('error', error, ctx);
        if (!socket.destroyed) refuse(socket, status, message);
      },
    );
  };
}
