/**
 * The peer certificate of a TLS connection, read from its session: a cheap way to recognize a certificate seen before.
 *
 * `getPeerCertificate()` turns the certificate into a JavaScript object field by field (names, extensions, three
 * digests): ~20–50 µs on Node 20, several times that in a busy server whose caches the handshake just evicted.
 * `getSession()` returns OpenSSL's DER encoding of the session (~6 µs), whose `peer` field holds the same certificate:
 * OpenSSL keeps a connection's peer certificate in its session, and `getPeerCertificate()` reads it from there.
 */
import type { TLSSocket } from 'node:tls';
import { children, DerError, parseDer, Tag } from '../x509/der.js';

/** `peer [3] EXPLICIT Certificate OPTIONAL` of OpenSSL's SSL_SESSION_ASN1 (ssl/ssl_asn1.c). */
const PEER_FIELD = 3;
const CONTEXT_SPECIFIC = 2;

/**
 * The DER of the peer certificate held by the connection's TLS session, or `undefined` when there is none or the
 * session cannot be read (the caller then asks `getPeerCertificate()`). It says nothing about verification: check
 * `socket.authorized` first.
 */
export function sessionPeerCertificate(socket: Pick<TLSSocket, 'getSession'>): Uint8Array | undefined {
  let session: Buffer | undefined;
  try {
    session = typeof socket.getSession === 'function' ? socket.getSession() : undefined;
  } catch {
    // A destroyed socket, or an HTTP/2 socket proxy that refuses the call: not this path's to decide.
    return undefined;
  }
  if (session === undefined) return undefined;
  try {
    let peer: Uint8Array | undefined;
    for (const field of children(parseDer(session))) {
      if (field.tagClass !== CONTEXT_SPECIFIC || field.tagNumber !== PEER_FIELD) continue;
      // One peer field, explicitly tagged, holding exactly one SEQUENCE: anything else is not a session we know.
      if (peer !== undefined || !field.constructed) return undefined;
      const certificate = parseDer(field.content);
      if (certificate.tagClass !== 0 || certificate.tagNumber !== Tag.SEQUENCE) return undefined;
      peer = certificate.encoded;
    }
    return peer;
  } catch (error) {
    if (error instanceof DerError) return undefined;
    throw error;
  }
}
