/**
 * The optional-client-certificate mode of `mtlsOptions` at run time. Node serves a client whose certificate fails
 * verification when `rejectUnauthorized` is false, and keeps the verdict only in `socket.authorized`; this module
 * refuses such a connection before any HTTP parser sees it (a presented certificate is verified as strictly as in
 * the default mode, as Kestrel's `AllowCertificate` does) and lets only certificate-less clients through.
 *
 * A server is in this mode when it holds the mode's own `SNICallback` (it travels with the options object into the
 * server). The first connection that reaches koa-mtls code — an SNI callback, or a request in `peerCertificate` —
 * installs a `secureConnection` guard on the server; from then on every connection is checked at the handshake.
 */
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';

type SniCallback = (servername: string, callback: (error: Error | null, context?: SecureContext) => void) => void;

/** Servers known to be in optional mode (or known not to be). */
const modeOfServer = new WeakMap<object, boolean>();
/** Servers whose `secureConnection` is guarded. */
const guardedServers = new WeakSet<object>();
/** The optional-mode SNI callbacks handed out, to recognise a server that holds one. */
const knownCallbacks = new WeakSet<object>();
/** Sockets already refused (one report per connection). */
const refusedSockets = new WeakSet<object>();

/** The error reported to `tlsClientError` listeners (`onTlsClientRejected`) for a refused certificate. */
function refusalError(socket: TLSSocket): Error {
  const error = new Error(`client certificate failed verification (${String(socket.authorizationError)})`);
  return Object.assign(error, { code: 'ERR_MTLS_CLIENT_CERTIFICATE_UNVERIFIED' });
}

function serverOf(socket: object): (object & { emit?: unknown; prependListener?: unknown }) | undefined {
  const server: unknown = (socket as { server?: unknown }).server;
  return typeof server === 'object' && server !== null ? server : undefined;
}

/** Whether the socket carries a certificate OpenSSL did not verify. Cheap for certificate-less clients. */
function presentedUnverified(socket: TLSSocket): boolean {
  if (socket.authorized === true) return false;
  // Not getPeerX509Certificate(): it leaks native memory per call on Node 20. `{}` when nothing was presented.
  const raw = socket.getPeerCertificate(false)?.raw;
  return Buffer.isBuffer(raw) && raw.length > 0;
}

/**
 * Refuses a connection whose presented certificate failed verification: reports it as a TLS client rejection and
 * destroys it. Returns whether it refused. `session` is the HTTP/2 session when the request came over one: its
 * socket is a proxy that refuses `destroy()`, so the session is destroyed instead.
 */
export function refuseUnverified(socket: TLSSocket, session?: { destroy(): void }): boolean {
  if (!presentedUnverified(socket)) return false;
  if (refusedSockets.has(socket)) return true;
  refusedSockets.add(socket);
  const destroy = session === undefined ? () => socket.destroy() : () => session.destroy();
  // Node's own tlsClientError listener destroys the socket it gets *with the error*, which then surfaces as an
  // unhandled socket error: report through a view of the socket whose destroy() is the quiet one above.
  const reported: TLSSocket = Object.create(socket, { destroy: { value: destroy } });
  const server = serverOf(socket);
  // A presented certificate that fails is refused as in the default mode, never served as "no certificate".
  if (server !== undefined && typeof server.emit === 'function') {
    (server.emit as (event: string, ...args: unknown[]) => boolean).call(
      server,
      'tlsClientError',
      refusalError(socket),
      reported,
    );
  }
  if (!socket.destroyed) destroy();
  return true;
}

function guardServer(server: object & { prependListener?: unknown }): void {
  if (guardedServers.has(server) || typeof server.prependListener !== 'function') return;
  guardedServers.add(server);
  // Before the HTTP/1.1 or HTTP/2 connection listener: a refused socket never reaches a parser.
  (server.prependListener as (event: string, listener: (socket: TLSSocket) => void) => void).call(
    server,
    'secureConnection',
    function refuseUnverifiedClient(socket: TLSSocket) {
      refuseUnverified(socket);
    },
  );
}

/**
 * The `SNICallback` of the optional mode: the strict callback's checks, plus the handshake guard on the server.
 */
export function optionalModeSniCallback(strict: SniCallback): SniCallback {
  const callback = function optionalClientCertificateSniCallback(
    this: unknown,
    servername: string,
    done: (error: Error | null, context?: SecureContext) => void,
  ): void {
    const server = this instanceof TLSSocket ? serverOf(this) : undefined;
    if (server !== undefined) {
      modeOfServer.set(server, true);
      guardServer(server);
    }
    strict.call(this, servername, done);
  };
  knownCallbacks.add(callback);
  return callback;
}

/** Whether the server of `socket` was built with optional-mode options; installs the guard when it was. */
export function acceptsAnonymousClients(socket: Socket): boolean {
  const server = serverOf(socket);
  if (server === undefined) return false;
  let optional = modeOfServer.get(server);
  if (optional === undefined) {
    // Node keeps the SNICallback under an internal symbol; look for ours once per server.
    const record = server as Record<symbol, unknown>;
    optional = Object.getOwnPropertySymbols(server).some((key) => {
      const value = record[key];
      return typeof value === 'function' && knownCallbacks.has(value);
    });
    modeOfServer.set(server, optional);
  }
  if (optional) guardServer(server);
  return optional;
}
