/**
 * `peerCertificate()`: puts the verified peer of each request on `ctx.state.peer` as a typed, lossless, immutable
 * {@link PeerIdentity}, or leaves it `undefined` and tells the audit hook why.
 *
 * @module identity
 */
import type { Context, Middleware, Next } from 'koa';
import { type AuditEvent, type AuditHook, type RequestIdResolver, requestIdFromHeader } from '../audit/event.js';
import { assertOptionsObject, optionalFunction, optionalInteger } from '../options/validate.js';
import { CertificateReader } from './certificate-reader.js';
import { validityProblem } from './create-identity.js';
import type { PeerIdentity } from './peer-identity.js';
import { SocketPeers } from './socket-peer.js';
import { summarizePeer } from './summarize-peer.js';

declare module 'koa' {
  interface DefaultState {
    /** The verified peer, set by `peerCertificate()`; `undefined` when the request has none. */
    peer?: PeerIdentity;
  }
}

/**
 * Options of {@link peerCertificate}. Every field is optional.
 */
export interface PeerCertificateOptions {
  /** Receives an event for every request: `allow`/`PEER_IDENTIFIED`, or `reject` with the reason. Default: none. */
  readonly onAudit?: AuditHook;
  /** How to find the request id for audit events. Default: the `x-request-id` header. */
  readonly requestId?: RequestIdResolver;
  /** The clock for the per-request validity check, in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** Parsed certificates kept across connections (LRU keyed by the DER's SHA-256). 0 disables. Default 1000. */
  readonly cacheSize?: number;
  /** A certificate with more subject alternative names than this is never a peer. Default 256 (max 10 000). */
  readonly maxSubjectAltNames?: number;
}

const optionKeys = ['onAudit', 'requestId', 'now', 'cacheSize', 'maxSubjectAltNames'] as const;

interface CompiledOptions {
  readonly onAudit: AuditHook | undefined;
  readonly requestId: RequestIdResolver;
  readonly now: () => number;
  readonly cacheSize: number;
  readonly maxSubjectAltNames: number;
}

function compileOptions(options: unknown): CompiledOptions {
  assertOptionsObject(options, 'peerCertificate', optionKeys);
  return Object.freeze({
    onAudit: optionalFunction<AuditHook>(options, 'onAudit', 'peerCertificate'),
    requestId: optionalFunction<RequestIdResolver>(options, 'requestId', 'peerCertificate') ?? requestIdFromHeader,
    now: optionalFunction<() => number>(options, 'now', 'peerCertificate') ?? Date.now,
    cacheSize: optionalInteger(options, 'cacheSize', 'peerCertificate', 0, 1_000_000) ?? 1000,
    maxSubjectAltNames: optionalInteger(options, 'maxSubjectAltNames', 'peerCertificate', 1, 10_000) ?? 256,
  });
}

/** The result of resolving one request's peer. */
interface Resolution {
  readonly peer: PeerIdentity | undefined;
  readonly event: Omit<AuditEvent, 'requestId'>;
}

/**
 * Creates the middleware that identifies the peer of each request.
 *
 * `ctx.state.peer` is set only when the TLS connection (HTTP/1.1 or HTTP/2) carries a peer certificate **and**
 * `socket.authorized === true`, the certificate parses exactly, has no unknown critical extension, allows
 * clientAuth when it has an EKU, and is within its validity period *now* (checked per request, because long-lived
 * connections outlive certificates). In every other case `ctx.state.peer` is `undefined` (even if something earlier
 * set it) and the audit hook receives the reason. The middleware never denies a request by itself: pair it with
 * `requirePeer()`.
 *
 * Parsing happens once per connection (memoized on the socket or HTTP/2 session) and once per certificate across
 * connections (a bounded LRU).
 *
 * Limitations: TLS ≤ 1.2 renegotiation can change the peer certificate of a live connection and the memoized
 * identity would not follow; use `mtlsOptions()` (TLS 1.3 only) or disable renegotiation.
 *
 * @throws {InvalidOptionError} at startup, for an unknown option or a wrong type.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { peerCertificate } from 'koa-mtls';
 * const app = new Koa();
 * app.use(peerCertificate({ onAudit: (event) => console.log(event.reason) }));
 * app.use((ctx) => { ctx.body = ctx.state.peer?.spiffeId ?? 'anonymous'; });
 * ```
 */
export function peerCertificate(options: PeerCertificateOptions = {}): Middleware {
  const compiled = compileOptions(options);
  const peers = new SocketPeers(new CertificateReader(compiled.cacheSize, compiled.maxSubjectAltNames));

  function resolve(ctx: Context): Resolution {
    const connection = peers.peerOf(ctx);
    if (!connection.ok) {
      const detail = {
        ...connection.detail,
        ...(connection.certificate === undefined ? {} : { fingerprint256: connection.certificate.fingerprint256 }),
      };
      return {
        peer: undefined,
        event: {
          kind: 'identity',
          outcome: 'reject',
          reason: connection.reason,
          ...(Object.keys(detail).length === 0 ? {} : { detail }),
        },
      };
    }
    const problem = validityProblem(connection.certificate, compiled.now());
    if (problem !== undefined) {
      return {
        peer: undefined,
        event: { kind: 'identity', outcome: 'reject', reason: problem, peer: summarizePeer(connection.identity) },
      };
    }
    return {
      peer: connection.identity,
      event: {
        kind: 'identity',
        outcome: 'allow',
        reason: 'PEER_IDENTIFIED',
        peer: summarizePeer(connection.identity),
      },
    };
  }

  return async function peerCertificateMiddleware(ctx: Context, next: Next): Promise<void> {
    // Fail closed: whatever an earlier middleware put here is not this module's decision.
    delete ctx.state.peer;
    const { peer, event } = resolve(ctx);
    if (peer !== undefined) ctx.state.peer = peer;
    if (compiled.onAudit !== undefined) {
      const requestId = compiled.requestId(ctx);
      compiled.onAudit(Object.freeze(requestId === undefined ? event : { ...event, requestId }));
    }
    await next();
  };
}
