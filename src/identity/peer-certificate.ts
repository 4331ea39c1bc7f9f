/**
 * `peerCertificate()`: puts the verified peer of each request on `ctx.state.peer` as a typed, lossless, immutable
 * {@link PeerIdentity}, or leaves it `undefined` and tells the audit hook why.
 *
 * @module identity
 */
import type { Context, Middleware, Next } from 'koa';
import type { AnonymousRoutes } from '../anonymous/anonymous-routes.js';
import { type AnonymousVerdict, anonymousVerdict } from '../anonymous/gate.js';
import type { AuditHook, RequestIdResolver } from '../audit/event.js';
import { auditHook } from '../audit/hook.js';
import { KoaMtlsError } from '../errors.js';
import type { Trust } from '../trust/trust.js';
import { type CompiledPeerCertificateOptions, compilePeerCertificateOptions } from './peer-certificate-options.js';
import type { PeerIdentity } from './peer-identity.js';
import { type AuditDraft, identifiedEvent, PeerResolution, PeerResolver } from './peer-resolver.js';
import type { ForwardedVerificationOptions } from './proxy/forwarded-peers.js';
import type { PeerCertificateSource } from './proxy/sources.js';

declare module 'koa' {
  interface DefaultState {
    /** The verified peer, set by `peerCertificate()`; `undefined` when the request has none. */
    peer?: PeerIdentity;
  }
}

/**
 * A proxy that may forward a client certificate in a header, and the one header source it sets. When both
 * `addresses` and `peer` are given, both must hold.
 *
 * @example
 * ```ts
 * import type { TrustedProxies } from 'koa-mtls';
 *
 * // Two proxies, each allowed to set only its own header:
 * const trustedProxies: TrustedProxies[] = [
 *   { addresses: ['10.0.0.0/8'], source: 'xfcc' },
 *   { addresses: ['192.0.2.10'], source: 'nginx' },
 * ];
 * ```
 */
export interface TrustedProxies {
  /**
   * CIDRs or addresses of the proxies, matched against the TCP peer address (IPv4-mapped IPv6 matches IPv4 entries).
   * `X-Forwarded-For` is never consulted: the client writes it.
   */
  readonly addresses?: readonly string[];
  /**
   * A predicate on the proxy's own verified mTLS identity (the socket's peer). A predicate that throws is a "no".
   * @example (proxy) => proxy.spiffeId === 'spiffe://example.org/ns/ingress/sa/envoy'
   */
  readonly peer?: (proxy: PeerIdentity) => boolean;
  /**
   * The one header source this proxy sets: a source `type` (`'xfcc'`, `'client-cert'`, `'nginx'`) or the source's
   * header name. Required when several header sources are configured; the headers of every other source are
   * removed from this proxy's requests and reported (`PROXY_UNEXPECTED_SOURCE`).
   */
  readonly source?: string;
}

/**
 * Options of {@link peerCertificate}. Every field is optional, except that header sources need `trustedProxies`
 * and `verify`.
 *
 * @example
 * ```ts
 * import { createTrust, type PeerCertificateOptions, peerCertificate } from 'koa-mtls';
 *
 * const options: PeerCertificateOptions = {
 *   trust: createTrust({ ca: { file: '/etc/tls/ca.crt' } }),
 *   onAudit: (event) => log.info(event),
 *   cacheSize: 5000,
 * };
 * app.use(peerCertificate(options));
 * ```
 */
export interface PeerCertificateOptions {
  /**
   * The trust (from `createTrust()`, shared with `mtlsOptions({ trust })`) that TLS peers are verified against:
   * `issuerChain` is then the path verified by signatures to one of its anchors, and with trust domains a SPIFFE
   * ID counts only when that path ends at its own domain's bundle. Without it, issuers are the certificates the
   * client sent that verifiably signed the leaf, and no trust domain applies.
   */
  readonly trust?: Trust;
  /** Receives an event for every request: `allow`/`PEER_IDENTIFIED`, or `reject` with the reason. Default: none. */
  readonly onAudit?: AuditHook;
  /** How to find the request id for audit events. Default: the `x-request-id` header. */
  readonly requestId?: RequestIdResolver;
  /** The clock for the per-request validity check, in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Parsed certificates, verified peers and verified forwarded chains kept across connections, each an LRU of this
   * size; 0 disables. Size it to the distinct clients you expect: a known certificate on a new connection costs a
   * lookup, a first-seen one a chain read and verification. Default 1000.
   */
  readonly cacheSize?: number;
  /** A certificate with more subject alternative names than this is never a peer. Default 256 (max 10 000). */
  readonly maxSubjectAltNames?: number;
  /**
   * Where certificates come from. Default `['tls']` (the TLS socket only). Header sources (`'xfcc'`,
   * `'client-cert'`, `'nginx'`, `{ type: 'header', … }`) are read only from {@link TrustedProxies}; for a request
   * from a trusted proxy the socket's own certificate (the proxy's) is never the peer.
   */
  readonly sources?: readonly PeerCertificateSource[];
  /** Required with header sources: one proxy, or several, each bound to the source it sets. */
  readonly trustedProxies?: TrustedProxies | readonly TrustedProxies[];
  /** Re-verification of forwarded certificates. Required with header sources. */
  readonly verify?: ForwardedVerificationOptions;
  /** Maximum length of one forwarded-certificate header. Default 16 384 (Node's default total header size). */
  readonly maxHeaderBytes?: number;
  /**
   * On a server built with `mtlsOptions({ clientCertificate: 'optional' })`, a client without a certificate is
   * answered 401 (`ERR_MTLS_PEER_REQUIRED`) before any route runs, unless the route the router would run is declared
   * with `allowAnonymous()`. This names the router(s) or app whose routes to look at (read per request, so routes
   * added later count). Default: none, so every certificate-less request is denied.
   */
  readonly anonymousRoutes?: AnonymousRoutes;
}

/**
 * Creates the middleware that identifies the peer of each request.
 *
 * From the TLS socket (HTTP/1.1 or HTTP/2), `ctx.state.peer` is set only when the connection carries a peer
 * certificate **and** `socket.authorized === true`, the certificate parses exactly, has no unknown critical
 * extension, allows clientAuth when it has an EKU, and is within its validity period *now* (checked per request,
 * because long-lived connections outlive certificates). Parsing happens once per connection (memoized on the socket
 * or HTTP/2 session) and once per certificate across connections (a bounded LRU).
 *
 * Behind a proxy, header `sources` are read **only** when the request comes from a trusted proxy (TCP peer address
 * and/or the proxy's own verified mTLS identity; never `X-Forwarded-For`). The forwarded certificate is re-verified
 * against `verify.ca` (chain with every signature, validity, EKU clientAuth, CRLs, key strength) and becomes an
 * identity with `verifiedBy: 'app'`. Each trusted proxy is read only through the one source it is bound to
 * (`trustedProxies.source`); the headers of other sources on its requests are removed (`PROXY_UNEXPECTED_SOURCE`).
 * From anyone else, those headers are removed from the request and reported to the audit hook as
 * `PROXY_UNTRUSTED_SOURCE`, and the socket source (if listed) decides.
 *
 * On a server built with `mtlsOptions({ clientCertificate: 'optional' })`, a request without a client certificate is
 * answered 401 here, before routing, unless its route carries `allowAnonymous()` (see `anonymousRoutes`); a
 * connection whose presented certificate failed verification is destroyed and reported.
 *
 * In every other case `ctx.state.peer` is `undefined` (even if something earlier set it) and the audit hook
 * receives the reason. Apart from the optional mode's default deny, the middleware never denies a request by
 * itself: pair it with `requirePeer()`.
 *
 * Limitations: TLS ≤ 1.2 renegotiation can change the peer certificate of a live connection and the memoized
 * identity would not follow (use `mtlsOptions()`, TLS 1.3 only). Forwarded chains are refused when a CA in them has
 * name constraints (not evaluated). OCSP is not checked.
 *
 * @throws {InvalidOptionError} at startup, for an unknown option, a wrong type, a header source without
 * `trustedProxies` and `verify`, or unreadable trust anchors/CRLs.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { peerCertificate } from 'koa-mtls';
 * const app = new Koa();
 * app.use(peerCertificate({ onAudit: (event) => console.log(event.reason) }));
 * app.use((ctx) => { ctx.body = ctx.state.peer?.spiffeId ?? 'anonymous'; });
 * ```
 *
 * @example Behind Envoy, trusted by its SPIFFE ID and address, re-verified against the mesh CA:
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { peerCertificate } from 'koa-mtls';
 *
 * app.use(peerCertificate({
 *   sources: ['xfcc'],
 *   trustedProxies: { addresses: ['10.0.0.0/8'], peer: (proxy) => proxy.spiffeId === 'spiffe://example.org/ns/ingress/sa/envoy' },
 *   verify: { ca: readFileSync('mesh-ca.pem', 'utf8') },
 * }));
 * ```
 */
export function peerCertificate(options: PeerCertificateOptions = {}): Middleware {
  const compiled = compilePeerCertificateOptions(options);
  const resolver = new PeerResolver(compiled);

  // The common case, kept synchronous and allocation-free: a known connection, a valid certificate, no hook.
  return function peerCertificateMiddleware(ctx: Context, next: Next): Promise<void> {
    // Fail closed: whatever an earlier middleware put here is not this module's decision.
    if ('peer' in ctx.state) delete ctx.state.peer;
    const resolved = resolver.resolve(ctx);
    if (PeerResolution.is(resolved)) return settle(compiled, ctx, resolved, next);
    ctx.state.peer = resolved;
    const hook = auditHook(compiled.onAudit);
    if (hook !== undefined) {
      const requestId = compiled.requestId(ctx);
      const event = identifiedEvent(resolved);
      hook(Object.freeze(requestId === undefined ? event : { ...event, requestId }));
    }
    return next();
  };
}

/** The audit event of the optional mode's gate, when it decided something. */
function anonymousEvent(verdict: AnonymousVerdict): AuditDraft | undefined {
  if (verdict === 'anonymous') return { kind: 'identity', outcome: 'allow', reason: 'PEER_ANONYMOUS_ROUTE' };
  if (verdict === 'deny') return { kind: 'identity', outcome: 'reject', reason: 'PEER_ANONYMOUS_DENIED' };
  if (verdict === 'refused') return { kind: 'identity', outcome: 'reject', reason: 'PEER_CERTIFICATE_REFUSED' };
  return undefined;
}

/** Every other case: report the resolution's events, then apply the optional mode's gate. */
async function settle(
  compiled: CompiledPeerCertificateOptions,
  ctx: Context,
  resolution: PeerResolution,
  next: Next,
): Promise<void> {
  const peer = resolution.peer;
  if (peer !== undefined) ctx.state.peer = peer;
  // Optional client certificates: default deny unless the route is declared anonymous (ours to decide, before routing).
  const verdict = peer === undefined ? anonymousVerdict(ctx, compiled.anonymousRoute) : 'not-applicable';
  const hook = auditHook(compiled.onAudit);
  if (hook !== undefined) {
    const requestId = compiled.requestId(ctx);
    const gate = anonymousEvent(verdict);
    const events = resolution.events();
    for (const event of gate === undefined ? events : [...events, gate]) {
      hook(Object.freeze(requestId === undefined ? event : { ...event, requestId }));
    }
  }
  if (verdict === 'refused') {
    // The connection is already destroyed; nothing may be written or run for it.
    ctx.respond = false;
    return;
  }
  if (verdict === 'deny')
    throw new KoaMtlsError('ERR_MTLS_PEER_REQUIRED', 'Client certificate required', { status: 401 });
  await next();
}
