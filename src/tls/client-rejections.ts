/**
 * Makes rejected clients visible. Node drops a client whose certificate fails verification after the handshake,
 * without a TLS alert, and keeps the reason only in `tlsSocket.authorizationError`.
 * `onTlsClientRejected` turns every failed handshake into an {@link AuditEvent} of kind `tls`.
 *
 * @module tls/client-rejections
 */
import { createHash } from 'node:crypto';
import { Socket } from 'node:net';
import type { Server, TLSSocket } from 'node:tls';
import type { AuditEvent, AuditHook, AuditReason, PeerSummary } from '../audit/event.js';
import { auditHook } from '../audit/hook.js';
import { InvalidOptionError } from '../errors.js';
import { parseCertificate } from '../identity/parse-certificate.js';
import { tlsClientAttributes } from '../identity/summarize-peer.js';
import { capturedPeerOf, markAudited } from './peer-capture.js';

/** Reasons for handshake failures that carry no verification result, by Node/OpenSSL error code. */
const reasonsByCode: Readonly<Record<string, `TLS_${string}`>> = {
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'TLS_NO_CLIENT_CERTIFICATE',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'TLS_PROTOCOL_VERSION',
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS_PROTOCOL_VERSION',
  ERR_SSL_NO_SHARED_CIPHER: 'TLS_NO_SHARED_CIPHER',
  ERR_SSL_NO_SHARED_SIGNATURE_ALGORITHMS: 'TLS_NO_SHARED_SIGNATURE_ALGORITHM',
  ERR_SSL_NO_SUITABLE_KEY_SHARE: 'TLS_NO_SHARED_GROUP',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'TLS_HANDSHAKE_TIMEOUT',
  ERR_MTLS_CONFIG_SNI_CONTEXT: 'TLS_SNI_CONTEXT_REFUSED',
  ECONNRESET: 'TLS_CONNECTION_RESET',
};

// A rejected client's certificate is summarized, never trusted: a bound on its SANs keeps that cheap.
const parseLimits = { maxSubjectAltNames: 256 };

function peerSummary(der: Buffer): PeerSummary {
  try {
    const parsed = parseCertificate(der, parseLimits);
    return tlsClientAttributes(parsed);
  } catch {
    // A certificate the strict reader refuses is still identified by its hash
    return { 'tls.client.hash.sha256': createHash('sha256').update(der).digest('hex').toUpperCase() };
  }
}

/**
 * The client's address. A destroyed socket has lost its handle, but `net.Socket` caches the peer name once read:
 * {@link rememberPeerAddress} reads it on the raw socket before TLS takes over, and the TLS socket keeps that raw
 * socket as `_parent` (Node 20–24).
 */
function peerAddress(socket: TLSSocket): { readonly remoteAddress?: string; readonly remotePort?: number } {
  const parent: unknown = (socket as unknown as { _parent?: unknown })._parent;
  const source = socket.remoteAddress === undefined && parent instanceof Socket ? parent : socket;
  return {
    ...(source.remoteAddress === undefined ? {} : { remoteAddress: source.remoteAddress }),
    ...(source.remotePort === undefined ? {} : { remotePort: source.remotePort }),
  };
}

/** A `connection` listener run before Node's own: caches the raw socket's peer name while its handle exists. */
function rememberPeerAddress(raw: Socket): void {
  void raw.remoteAddress;
}

/** The audit event for one failed handshake. */
export function rejectionEvent(error: Error, socket: TLSSocket): AuditEvent {
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  // At runtime authorizationError is OpenSSL's verify code as a string (CERT_HAS_EXPIRED, CERT_REVOKED, …)
  const authorizationError: unknown = socket.authorizationError;
  const verifyCode =
    typeof authorizationError === 'string' && authorizationError !== '' ? authorizationError : undefined;
  const reason: AuditReason =
    verifyCode !== undefined
      ? `TLS_${verifyCode}`
      : ((code === undefined ? undefined : reasonsByCode[code]) ?? 'TLS_HANDSHAKE_FAILED');
  const certificate = capturedPeerOf(socket);
  return {
    kind: 'tls',
    outcome: 'reject',
    reason,
    ...(certificate === undefined ? {} : { peer: peerSummary(certificate) }),
    detail: {
      ...(verifyCode === undefined ? {} : { authorizationError: verifyCode }),
      ...(code === undefined ? {} : { errorCode: code }),
      message: error.message,
      ...peerAddress(socket),
    },
  };
}

/**
 * Reports every client the server rejects during or right after the handshake — no certificate, an untrusted,
 * expired, revoked or weak certificate, an unsupported protocol or cipher, a handshake timeout — as an
 * {@link AuditEvent} `{ kind: 'tls', outcome: 'reject', reason: 'TLS_<code>' }` to `onAudit` (or, when omitted, the
 * hook set by `configureAudit`; identical repeats are rate-limited there). The reason is
 * `TLS_` + the OpenSSL verify code (`TLS_CERT_HAS_EXPIRED`, `TLS_CERT_REVOKED`, `TLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE`,
 * `TLS_UNSPECIFIED` for a weak key or SHA-1 under OpenSSL 3) or a handshake reason (`TLS_NO_CLIENT_CERTIFICATE`,
 * `TLS_PROTOCOL_VERSION`, `TLS_HANDSHAKE_TIMEOUT`, …); `detail` holds the error code, message and peer address.
 *
 * The peer's subject is included when the client sent SNI (Node, curl, Go and Envoy do for host names) and the
 * server uses `mtlsOptions`; a client connecting by IP address without SNI is reported without it.
 * A hook that throws does not crash the server: the throw is reported with `process.emitWarning`.
 *
 * @returns a function that detaches the listener.
 * @example
 * ```ts
 * import https from 'node:https';
 * import { mtlsOptions, onTlsClientRejected } from 'koa-mtls';
 *
 * const files = { keyFile: '/etc/tls/tls.key', certFile: '/etc/tls/tls.crt', caFile: '/etc/tls/ca.crt' };
 * const server = https.createServer(mtlsOptions(files), app.callback());
 * onTlsClientRejected(server, (event) => log.warn(event, `TLS client rejected: ${event.reason}`));
 * ```
 */
export function onTlsClientRejected(server: Server, onAudit?: AuditHook): () => void {
  if (typeof server?.on !== 'function')
    throw new InvalidOptionError('onTlsClientRejected.server', 'must be a TLS server');
  if (onAudit !== undefined && typeof onAudit !== 'function') {
    throw new InvalidOptionError('onTlsClientRejected.onAudit', 'must be a function (or omitted: configureAudit)');
  }
  const unmarkAudited = markAudited(server);
  const listener = function auditTlsClientError(error: Error, socket: TLSSocket): void {
    try {
      // One event per refused connection, never rate-limited: each is a separate client the server turned away.
      auditHook(onAudit)?.(rejectionEvent(error, socket));
    } catch (hookError) {
      // The client is already rejected; a throwing hook must not take the whole server down
      process.emitWarning(`onTlsClientRejected hook threw: ${String(hookError)}`, { type: 'KoaMtlsWarning' });
    }
  };
  server.on('tlsClientError', listener);
  server.prependListener('connection', rememberPeerAddress);
  let attached = true;
  return function detach() {
    if (!attached) return;
    attached = false;
    server.off('tlsClientError', listener);
    server.off('connection', rememberPeerAddress);
    unmarkAudited();
  };
}
