/**
 * The `SNICallback` every `mtlsOptions` result carries. Node verifies a client against the SNI context's own trust
 * store, and a context added with `server.addContext()` without `ca` falls back to the public root store (Node's
 * `tls.createSecureContext()` loads its bundled Mozilla roots when `ca` is omitted). This callback keeps every name
 * on the strict default context and refuses the handshake when the server has `addContext()` entries. On servers
 * audited by `onTlsClientRejected` it also has the peer certificate captured (`peer-capture.ts`), because Node
 * destroys a rejected socket before `tlsClientError` can read it.
 *
 * @module tls/sni
 */
import { type SecureContext, TLSSocket } from 'node:tls';
import { configError } from '../errors.js';
import { capturePeerOnSecure, isAudited } from './peer-capture.js';

/** Node's `SNICallback` signature. */
export type StrictSniCallback = (
  servername: string,
  callback: (error: Error | null, context?: SecureContext) => void,
) => void;

function serverOf(socket: TLSSocket): { readonly _contexts?: unknown } | undefined {
  const server: unknown = (socket as unknown as { server?: unknown }).server;
  return typeof server === 'object' && server !== null ? server : undefined;
}

/** Node calls it with the server-side `TLSSocket` as `this`, for every client that sends SNI. */
export const strictSniCallback: StrictSniCallback = function strictSniCallback(this: unknown, _servername, callback) {
  const socket = this instanceof TLSSocket ? this : undefined;
  const server = socket === undefined ? undefined : serverOf(socket);
  // addContext() contexts are not built by mtlsOptions and may trust the public store: fail closed, as the server's own context does
  if (server !== undefined && Array.isArray(server._contexts) && server._contexts.length > 0) {
    callback(
      configError(
        'ERR_MTLS_CONFIG_SNI_CONTEXT',
        'server.addContext()',
        'was called on a server built with mtlsOptions; its contexts may verify clients against the public root store',
        'remove the addContext() calls; run one server per certificate, each built with mtlsOptions',
      ),
    );
    return;
  }
  // Before Node's own 'secure' listener, which destroys a rejected socket (and its certificate with it)
  if (socket !== undefined && server !== undefined && isAudited(server)) capturePeerOnSecure(socket);
  callback(null);
};
