/**
 * The peer of a TLS connection, read once per connection (HTTP/1.1 socket or HTTP/2 session) and kept on it, so that
 * keep-alive and multiplexed requests never read the certificate again.
 *
 * Issuers come from a path verified by signatures, never from how Node links `getPeerCertificate(true)` (by names,
 * starting from what the client sent): with a trust, the path the trust engine verifies to a configured anchor;
 * without one, the sent certificates linked by signature.
 *
 * A verified peer is cached per leaf fingerprint with the trust generation it was verified under (an entry of an
 * older generation is a miss), identity included, so a new connection from a known certificate costs reading the leaf
 * from the TLS session, a hash and a lookup (no `getPeerCertificate()` at all), and policies find their memoized
 * verdict for the same identity object. Keying by the leaf alone is sound: a verified path is a fact about
 * signatures, anchors and CRLs (the generation), not about the connection; and only the holder of the leaf's key can
 * present it, since TLS makes the client prove possession (CertificateVerify, RFC 8446 §4.4.3). Refusals are not
 * cached across connections: the next connection may send the intermediate this one lacked.
 */
import * as crypto from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { Context } from 'koa';
import { type Http2SessionOfRequest, http2SessionOf } from '../tls/http2-session.js';
import { sessionPeerCertificate } from '../tls/session-certificate.js';
import { type PathProblem, signatureLinkedIssuers, type TrustCertificate, withinWindow } from '../trust/path.js';
import type { TrustState } from '../trust/trust.js';
import { BoundedCache } from './bounded-cache.js';
import type { CertificateReader, ReadProblem } from './certificate-reader.js';
import { type CertificateUseProblem, createIdentity, staticUseProblem, type VerifiedPeer } from './create-identity.js';
import type { ParsedCertificate } from './parse-certificate.js';

/** Why a connection has no usable peer certificate. */
export type ConnectionProblem =
  | 'PEER_NOT_TLS'
  | 'PEER_NO_CERTIFICATE'
  | 'PEER_UNAUTHORIZED'
  | `PEER_${PathProblem}`
  | ReadProblem
  | CertificateUseProblem;

/** What a connection yields: an identity (still subject to per-request checks), or why not. */
export type ConnectionPeer =
  | VerifiedPeer
  | {
      readonly ok: false;
      readonly reason: ConnectionProblem;
      readonly detail?: Readonly<Record<string, unknown>>;
      readonly certificate?: ParsedCertificate;
    };

const NOT_TLS: ConnectionPeer = Object.freeze({ ok: false, reason: 'PEER_NOT_TLS' });

/** An issuer walk never goes deeper than this (a cycle guard on top of the identity set). */
const MAX_CHAIN_DEPTH = 16;

/** The request's TLS socket (through the HTTP/2 session when there is one), or `undefined` for plain TCP. */
export function tlsSocketOf(
  ctx: Context,
  session: Http2SessionOfRequest | undefined = http2SessionOf(ctx),
): TLSSocket | undefined {
  const socket = (session?.socket ?? ctx.req.socket) as Partial<TLSSocket> | undefined;
  if (socket === undefined || socket === null) return undefined;
  // A plain TCP socket has no peer certificate API; it is not an mTLS connection.
  if (socket.encrypted !== true || typeof socket.getPeerCertificate !== 'function') return undefined;
  return socket as TLSSocket;
}

/** The DER of every certificate Node linked above the leaf (what the client sent, and store copies), deduplicated. */
function sentCertificates(leaf: DetailedPeerCertificate): Buffer[] {
  const seen = new Set<DetailedPeerCertificate>([leaf]);
  const sent: Buffer[] = [];
  let current: DetailedPeerCertificate | undefined = leaf.issuerCertificate;
  // Node docs: a self-signed root's issuerCertificate points to itself (a cycle); stop at a repeat.
  while (current !== undefined && current !== null && !seen.has(current) && sent.length < MAX_CHAIN_DEPTH) {
    seen.add(current);
    if (Buffer.isBuffer(current.raw) && current.raw.length > 0) sent.push(current.raw);
    current = current.issuerCertificate;
  }
  return sent;
}

/**
 * The cache key of a verified peer: the SHA-256 of the leaf's DER. `crypto.hash()` (Node 20.12+) hashes in one call
 * without a Hash object: ~0.7 µs against ~1.2 µs, on a path every new connection takes.
 */
const verifiedKey: (leaf: Uint8Array) => string =
  typeof crypto.hash === 'function'
    ? (leaf) => crypto.hash('sha256', leaf, 'base64')
    : (leaf) => crypto.createHash('sha256').update(leaf).digest('base64');

/** What a verified connection adds to its certificate: issuers, the vouched SPIFFE ID, the window; or a refusal. */
type PathResult =
  | {
      readonly ok: true;
      readonly issuerChain: readonly string[];
      readonly spiffeId: string | undefined;
      readonly validFrom: number;
      readonly validUntil: number;
    }
  | { readonly ok: false; readonly reason: `PEER_${PathProblem}`; readonly problem: string };

/**
 * A connection's peer, stamped with the trust generation it was decided under. A verified one is also the cache
 * entry, shared by every connection that presents the certificate; a request reads this one object and the identity.
 */
type ConnectionRecord = ConnectionPeer & { readonly generation: number };

/** A verified peer and its generation. */
type VerifiedRecord = VerifiedPeer & { readonly generation: number };

type ConnectionSlots = Record<symbol, ConnectionRecord | undefined>;

/** Reads connection peers, once per connection, and verified peers once per certificate. */
export class SocketPeers {
  readonly #reader: CertificateReader;
  readonly #trust: TrustState | undefined;
  /**
   * Where this instance keeps a connection's peer, on the socket (or HTTP/2 session) itself: a request reads it with
   * one property load on an object it already touches, where a WeakMap costs a hash probe into a table that is rarely
   * in the CPU cache between requests. The symbol is private to this instance.
   */
  readonly #slot = Symbol('koa-mtls connection peer');
  readonly #verified: BoundedCache<string, VerifiedRecord>;

  constructor(reader: CertificateReader, trust: TrustState | undefined, cacheSize: number) {
    this.#reader = reader;
    this.#trust = trust;
    this.#verified = new BoundedCache(cacheSize);
  }

  /** A sent certificate in both forms, or `null` when either parser refuses it (it then issues nothing). */
  #certificate(der: Uint8Array): TrustCertificate | null {
    const read = this.#reader.readForPath(der);
    return typeof read === 'string' ? null : read;
  }

  #path(certificate: ParsedCertificate, leaf: DetailedPeerCertificate, now: number): PathResult {
    const leafCertificate = this.#reader.readLeafForPath(certificate.der);
    if (typeof leafCertificate === 'string') {
      return { ok: false, reason: 'PEER_CHAIN_UNTRUSTED', problem: 'leaf refused by OpenSSL' };
    }
    const candidates = sentCertificates(leaf).flatMap((der) => this.#certificate(der) ?? []);
    if (this.#trust === undefined) {
      return {
        ok: true,
        issuerChain: Object.freeze(signatureLinkedIssuers(leafCertificate, candidates, MAX_CHAIN_DEPTH)),
        spiffeId: certificate.spiffeId,
        validFrom: certificate.notBefore,
        // The leaf's own notAfter is still checked per request; the window must not end before it.
        validUntil: Number.POSITIVE_INFINITY,
      };
    }
    const { outcome, spiffeVouched } = this.#trust.verify(leafCertificate, candidates, now, certificate.spiffeId);
    return outcome.ok
      ? {
          ok: true,
          issuerChain: outcome.path.issuerChain,
          spiffeId: spiffeVouched ? certificate.spiffeId : undefined,
          validFrom: outcome.path.validFrom,
          validUntil: outcome.path.validUntil,
        }
      : { ok: false, reason: `PEER_${outcome.problem}`, problem: outcome.detail };
  }

  /** A verified peer of this generation, still within its path's window, or `undefined`. */
  #known(key: string, generation: number, now: number): VerifiedRecord | undefined {
    const known = this.#verified.get(key);
    return known !== undefined && known.generation === generation && withinWindow(known, now) ? known : undefined;
  }

  /** A verified peer's cached record (shared by every connection that presents it), or a refusal. */
  #read(socket: TLSSocket, generation: number, now: number): VerifiedRecord | ConnectionPeer {
    // A certificate verified before is recognized from the session's copy of it, without getPeerCertificate().
    if (socket.authorized === true && this.#verified.size > 0) {
      const leaf = sessionPeerCertificate(socket);
      const known = leaf === undefined ? undefined : this.#known(verifiedKey(leaf), generation, now);
      if (known !== undefined) return known;
    }
    // getPeerCertificate(false) builds one certificate (~15 µs), (true) the whole name-linked chain (~240 µs): the
    // leaf alone decides whether the chain is needed. Not getPeerX509Certificate(): it leaks ~3 KB of native memory
    // per call on Node 20 (found by the soak).
    const presented = socket.getPeerCertificate(false);
    const raw = presented?.raw;
    // getPeerCertificate() returns a truthy `{}` without a certificate; Deno/Bun have reported authorized === true
    // without one: no raw bytes, no peer.
    if (!Buffer.isBuffer(raw) || raw.length === 0) return { ok: false, reason: 'PEER_NO_CERTIFICATE' };
    // With rejectUnauthorized:false an unverified certificate is readable; never trust it.
    if (socket.authorized !== true) {
      return {
        ok: false,
        reason: 'PEER_UNAUTHORIZED',
        detail: { authorizationError: String(socket.authorizationError) },
      };
    }
    const key = verifiedKey(raw);
    const known = this.#known(key, generation, now);
    if (known !== undefined) return known;
    const outcome = this.#reader.read(raw);
    if (!outcome.ok) return { ok: false, reason: outcome.reason, detail: { parser: outcome.detail } };
    const certificate = outcome.certificate;
    const problem = staticUseProblem(certificate);
    if (problem !== undefined) return { ok: false, reason: problem, certificate };
    const path = this.#path(certificate, socket.getPeerCertificate(true), now);
    if (!path.ok) return { ok: false, reason: path.reason, detail: { problem: path.problem }, certificate };
    const verified: VerifiedRecord = {
      ok: true,
      certificate,
      identity: createIdentity(certificate, {
        source: 'tls',
        verifiedBy: 'tls-handshake',
        issuerChain: path.issuerChain,
        spiffeId: path.spiffeId,
      }),
      validFrom: path.validFrom,
      validUntil: path.validUntil,
      generation,
    };
    this.#verified.set(key, verified);
    return verified;
  }

  /** The peer of the request's connection at `now`; never throws on a bad certificate. */
  peerOf(ctx: Context, now: number): ConnectionPeer {
    const session = http2SessionOf(ctx);
    const socket = tlsSocketOf(ctx, session);
    if (socket === undefined) return NOT_TLS;
    const key = session ?? socket;
    const generation = this.#trust?.generation ?? 0;
    const known = (key as ConnectionSlots)[this.#slot];
    // A trust change (rotation, CRL update) re-decides live connections too: their path may no longer hold.
    if (known !== undefined && known.generation === generation) return known;
    let read: VerifiedRecord | ConnectionPeer;
    try {
      read = this.#read(socket, generation, now);
    } catch (error) {
      // A destroyed socket or a runtime quirk: fail closed, do not cache (the next request may see a live socket).
      return { ok: false, reason: 'PEER_NO_CERTIFICATE', detail: { error: (error as Error).message } };
    }
    const record: ConnectionRecord = 'generation' in read ? read : { ...read, generation };
    if (known === undefined) Object.defineProperty(key, this.#slot, { value: record, writable: true });
    else (key as ConnectionSlots)[this.#slot] = record;
    return record;
  }
}
