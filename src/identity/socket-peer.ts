/**
 * The peer of a TLS connection, read once per connection (HTTP/1.1 socket or HTTP/2 session) and memoized in a
 * WeakMap, so that keep-alive and multiplexed requests never call Node's expensive `getPeerCertificate()` again.
 */
import { createHash } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { Context } from 'koa';
import type { CertificateReader, ReadProblem } from './certificate-reader.js';
import { type CertificateUseProblem, createIdentity, staticUseProblem } from './create-identity.js';
import type { ParsedCertificate } from './parse-certificate.js';
import type { PeerIdentity } from './peer-identity.js';

/** Why a connection has no usable peer certificate. */
export type ConnectionProblem =
  | 'PEER_NOT_TLS'
  | 'PEER_NO_CERTIFICATE'
  | 'PEER_UNAUTHORIZED'
  | ReadProblem
  | CertificateUseProblem;

/** What a connection yields: an identity (still subject to per-request checks), or why not. */
export type ConnectionPeer =
  | { readonly ok: true; readonly certificate: ParsedCertificate; readonly identity: PeerIdentity }
  | {
      readonly ok: false;
      readonly reason: ConnectionProblem;
      readonly detail?: Readonly<Record<string, unknown>>;
      readonly certificate?: ParsedCertificate;
    };

/** An issuer walk never goes deeper than this (a cycle guard on top of the fingerprint set). */
const MAX_CHAIN_DEPTH = 16;

interface Http2Request {
  readonly stream?: { readonly session?: { readonly socket?: unknown } };
}

/** The TLS socket and a stable per-connection key (the HTTP/2 session, whose `socket` is a fresh proxy per stream). */
export function connectionOf(ctx: Context): { key: object; socket: TLSSocket } | undefined {
  const session = (ctx.req as Http2Request).stream?.session;
  const socket = (session?.socket ?? ctx.req.socket) as Partial<TLSSocket> | undefined;
  if (socket === undefined || socket === null) return undefined;
  // A plain TCP socket has no peer certificate API; it is not an mTLS connection.
  if (socket.encrypted !== true || typeof socket.getPeerCertificate !== 'function') return undefined;
  return { key: (session as object | undefined) ?? (socket as object), socket: socket as TLSSocket };
}

function issuerChain(leaf: DetailedPeerCertificate): string[] {
  const seen = new Set<string>([createHash('sha256').update(leaf.raw).digest('hex')]);
  const chain: string[] = [];
  let current: DetailedPeerCertificate | undefined = leaf.issuerCertificate;
  // Node docs: a self-signed root's issuerCertificate points to itself (a cycle); stop at a repeat.
  while (current !== undefined && current !== null && current.raw !== undefined && chain.length < MAX_CHAIN_DEPTH) {
    const fingerprint = createHash('sha256').update(current.raw).digest('hex');
    if (seen.has(fingerprint)) break;
    seen.add(fingerprint);
    chain.push(fingerprint);
    current = current.issuerCertificate;
  }
  return chain;
}

function readConnection(socket: TLSSocket, reader: CertificateReader): ConnectionPeer {
  // Notes §4 pitfall 7: with rejectUnauthorized:false an unverified certificate is readable; never trust it.
  if (socket.authorized !== true) {
    // getPeerCertificate() returns a truthy `{}` without a certificate (pitfall 6), so look for its raw bytes; not
    // getPeerX509Certificate(), which leaks native memory on every call on Node 20 (found by the soak).
    const raw = socket.getPeerCertificate(false)?.raw;
    const presented = Buffer.isBuffer(raw) && raw.length > 0;
    return presented
      ? { ok: false, reason: 'PEER_UNAUTHORIZED', detail: { authorizationError: String(socket.authorizationError) } }
      : { ok: false, reason: 'PEER_NO_CERTIFICATE' };
  }
  const leaf = socket.getPeerCertificate(true) as DetailedPeerCertificate | null;
  // Deno/Bun have reported authorized === true without a certificate (pitfall 8): no raw bytes, no peer.
  if (leaf === null || !Buffer.isBuffer(leaf.raw) || leaf.raw.length === 0) {
    return { ok: false, reason: 'PEER_NO_CERTIFICATE' };
  }
  const outcome = reader.read(leaf.raw);
  if (!outcome.ok) return { ok: false, reason: outcome.reason, detail: { parser: outcome.detail } };
  const certificate = outcome.certificate;
  const problem = staticUseProblem(certificate);
  if (problem !== undefined) return { ok: false, reason: problem, certificate };
  return {
    ok: true,
    certificate,
    identity: createIdentity(certificate, {
      source: 'tls',
      verifiedBy: 'tls-handshake',
      issuerChain: issuerChain(leaf),
    }),
  };
}

/** Reads connection peers, once per connection. */
export class SocketPeers {
  readonly #reader: CertificateReader;
  readonly #connections = new WeakMap<object, ConnectionPeer>();

  constructor(reader: CertificateReader) {
    this.#reader = reader;
  }

  /** The peer of the request's connection; never throws on a bad certificate. */
  peerOf(ctx: Context): ConnectionPeer {
    const connection = connectionOf(ctx);
    if (connection === undefined) return { ok: false, reason: 'PEER_NOT_TLS' };
    const known = this.#connections.get(connection.key);
    if (known !== undefined) return known;
    let peer: ConnectionPeer;
    try {
      peer = readConnection(connection.socket, this.#reader);
    } catch (error) {
      // A destroyed socket or a runtime quirk: fail closed, do not cache (the next request may see a live socket).
      return { ok: false, reason: 'PEER_NO_CERTIFICATE', detail: { error: (error as Error).message } };
    }
    this.#connections.set(connection.key, peer);
    return peer;
  }
}
