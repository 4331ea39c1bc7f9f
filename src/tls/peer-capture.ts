/**
 * Which servers audit their rejected handshakes, and the peer certificate captured on their sockets. Node destroys
 * a socket that failed client verification before `tlsClientError` runs, and its certificate with it, so the SNI
 * callback captures the certificate while the handshake is still in progress. This module owns both records; the
 * SNI callback and `onTlsClientRejected` only call its functions.
 *
 * @module tls/peer-capture
 */
import type { TLSSocket } from 'node:tls';

/** Servers whose rejections are audited, with how many `onTlsClientRejected` hooks are attached. */
const auditedServers = new WeakMap<object, number>();

/** The peer certificate (DER) of each socket on an audited server, captured before Node can destroy the socket. */
const capturedPeers = new WeakMap<TLSSocket, Buffer>();

/** Counts one more rejection hook on `server`; the returned function removes it again (idempotent). */
export function markAudited(server: object): () => void {
  auditedServers.set(server, (auditedServers.get(server) ?? 0) + 1);
  let marked = true;
  return function unmarkAudited() {
    if (!marked) return;
    marked = false;
    auditedServers.set(server, (auditedServers.get(server) ?? 1) - 1);
  };
}

/** Whether at least one rejection hook is attached to `server`. */
export function isAudited(server: object): boolean {
  return (auditedServers.get(server) ?? 0) > 0;
}

/**
 * Captures the peer certificate of `socket` when its handshake completes, before Node's own `secure` listener can
 * destroy a rejected socket. Call it from the SNI callback, which runs during the handshake.
 */
export function capturePeerOnSecure(socket: TLSSocket): void {
  socket.prependOnceListener('secure', () => {
    // Not getPeerX509Certificate(): on Node 20 it leaks ~3 KB of native memory per call (found by the soak).
    const { raw } = socket.getPeerCertificate(false);
    if (raw !== undefined && raw.length > 0) capturedPeers.set(socket, raw);
  });
}

/** The certificate (DER) captured on `socket` by {@link capturePeerOnSecure}, if any. */
export function capturedPeerOf(socket: TLSSocket): Buffer | undefined {
  return capturedPeers.get(socket);
}
