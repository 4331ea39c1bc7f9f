/**
 * `peerCertificate()`: puts the verified peer of each request on `ctx.state.peer` as a typed, lossless, immutable
 * {@link PeerIdentity}, or leaves it `undefined` and tells the audit hook why.
 *
 * @module identity
 */
import type { Context, Middleware, Next } from 'koa';
import {
  type AnonymousRouteMatcher,
  type AnonymousRoutes,
  compileAnonymousRoutes,
} from '../anonymous/anonymous-routes.js';
import { type AnonymousVerdict, anonymousVerdict } from '../anonymous/gate.js';
import { type AuditEvent, type AuditHook, type RequestIdResolver, requestIdFromHeader } from '../audit/event.js';
import { auditHook } from '../audit/hook.js';
import { InvalidOptionError, KoaMtlsError } from '../errors.js';
import {
  assertOptionsObject,
  isPlainObject,
  optionalFunction,
  optionalInteger,
  ownValue,
} from '../options/validate.js';
import { withinWindow } from '../trust/path.js';
import { type Trust, trustState } from '../trust/trust.js';
import { CertificateReader } from './certificate-reader.js';
import { validityProblem } from './create-identity.js';
import type { PeerIdentity } from './peer-identity.js';
import { createClaimedIdentity } from './proxy/claimed-identity.js';
import { compileVerification, ForwardedPeers, type ForwardedVerificationOptions } from './proxy/forwarded-peers.js';
import { type CompiledHeaderSource, compileSources, type PeerCertificateSource } from './proxy/sources.js';
import { type CompiledTrustedProxies, compileTrustedProxies } from './proxy/trusted-proxies.js';
import { SocketPeers } from './socket-peer.js';
import { summarizePeer } from './summarize-peer.js';

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
  /** Parsed certificates (and verified forwarded chains) kept across connections, LRU. 0 disables. Default 1000. */
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

const optionKeys = [
  'trust',
  'onAudit',
  'requestId',
  'now',
  'cacheSize',
  'maxSubjectAltNames',
  'sources',
  'trustedProxies',
  'verify',
  'maxHeaderBytes',
  'anonymousRoutes',
] as const;

interface CompiledProxies {
  readonly headers: ReadonlySet<string>;
  /** Per source, the headers of every other source (removed from the requests of a proxy bound to it). */
  readonly otherHeaders: ReadonlyMap<CompiledHeaderSource, ReadonlySet<string>>;
  readonly trusted: CompiledTrustedProxies;
  readonly forwarded: ForwardedPeers;
}

interface CompiledOptions {
  readonly onAudit: AuditHook | undefined;
  readonly requestId: RequestIdResolver;
  readonly now: () => number;
  readonly tls: boolean;
  readonly socketPeers: SocketPeers;
  readonly proxies: CompiledProxies | undefined;
  readonly anonymousRoute: AnonymousRouteMatcher | undefined;
}

function compileProxies(
  options: Record<string, unknown>,
  headerSources: readonly CompiledHeaderSource[],
  reader: CertificateReader,
  cacheSize: number,
): CompiledProxies | undefined {
  const trustedProxies = ownValue(options, 'trustedProxies');
  const verify = ownValue(options, 'verify');
  if (headerSources.length === 0) {
    // Options that would do nothing are a configuration mistake, not a no-op.
    if (trustedProxies !== undefined || verify !== undefined) {
      throw new InvalidOptionError(
        'peerCertificate.sources',
        'has no header source for trustedProxies/verify to apply to',
      );
    }
    return undefined;
  }
  const path = 'peerCertificate.trustedProxies';
  // A header source without a trust boundary lets any client forge its identity (CWE-290).
  if (trustedProxies === undefined) throw new InvalidOptionError(path, 'is required with header sources');
  const trusted = compileTrustedProxies(trustedProxies, path, headerSources);
  // Proxies may forward certificates they never verified (optional_no_ca); the app re-verifies against its own anchors.
  if (verify === undefined) throw new InvalidOptionError('peerCertificate.verify', 'is required with header sources');
  return Object.freeze({
    headers: new Set(headerSources.flatMap((source) => source.headers)),
    otherHeaders: new Map(
      headerSources.map((source) => [
        source,
        new Set(headerSources.filter((other) => other !== source).flatMap((other) => other.headers)),
      ]),
    ),
    trusted,
    forwarded: new ForwardedPeers(reader, compileVerification(verify, 'peerCertificate.verify'), cacheSize),
  });
}

function compileOptions(options: unknown): CompiledOptions {
  assertOptionsObject(options, 'peerCertificate', optionKeys);
  const cacheSize = optionalInteger(options, 'cacheSize', 'peerCertificate', 0, 1_000_000) ?? 1000;
  const maxSubjectAltNames = optionalInteger(options, 'maxSubjectAltNames', 'peerCertificate', 1, 10_000) ?? 256;
  const maxHeaderBytes = optionalInteger(options, 'maxHeaderBytes', 'peerCertificate', 1024, 1_048_576) ?? 16_384;
  const reader = new CertificateReader(cacheSize, maxSubjectAltNames);
  const verify = ownValue(options, 'verify');
  const maxChainLength = isPlainObject(verify)
    ? (optionalInteger(verify, 'maxChainLength', 'peerCertificate.verify', 1, 8) ?? 4)
    : 4;
  const sources = compileSources(ownValue(options, 'sources'), 'peerCertificate.sources', {
    maxHeaderBytes,
    maxChainCertificates: maxChainLength,
    cacheSize,
  });
  return Object.freeze({
    onAudit: optionalFunction<AuditHook>(options, 'onAudit', 'peerCertificate'),
    requestId: optionalFunction<RequestIdResolver>(options, 'requestId', 'peerCertificate') ?? requestIdFromHeader,
    now: optionalFunction<() => number>(options, 'now', 'peerCertificate') ?? Date.now,
    tls: sources.tls,
    socketPeers: new SocketPeers(
      reader,
      ownValue(options, 'trust') === undefined
        ? undefined
        : trustState(ownValue(options, 'trust'), 'peerCertificate.trust'),
      cacheSize,
    ),
    proxies: compileProxies(options, sources.headerSources, reader, cacheSize),
    anonymousRoute:
      ownValue(options, 'anonymousRoutes') === undefined
        ? undefined
        : compileAnonymousRoutes(ownValue(options, 'anonymousRoutes'), 'peerCertificate.anonymousRoutes'),
  });
}

type AuditDraft = Omit<AuditEvent, 'requestId'>;

/** The audit event of the optional mode's gate, when it decided something. */
function anonymousEvent(verdict: AnonymousVerdict): AuditDraft | undefined {
  if (verdict === 'anonymous') return { kind: 'identity', outcome: 'allow', reason: 'PEER_ANONYMOUS_ROUTE' };
  if (verdict === 'deny') return { kind: 'identity', outcome: 'reject', reason: 'PEER_ANONYMOUS_DENIED' };
  if (verdict === 'refused') return { kind: 'identity', outcome: 'reject', reason: 'PEER_CERTIFICATE_REFUSED' };
  return undefined;
}

/** The result of resolving one request's peer; events are built only when an audit hook wants them. */
interface Resolution {
  readonly peer: PeerIdentity | undefined;
  readonly events: () => readonly AuditDraft[];
}

function identified(peer: PeerIdentity, events: readonly AuditDraft[] = []): Resolution {
  return {
    peer,
    events: () => [
      ...events,
      { kind: 'identity', outcome: 'allow', reason: 'PEER_IDENTIFIED', peer: summarizePeer(peer) },
    ],
  };
}

function rejected(
  kind: 'identity' | 'proxy',
  reason: string,
  extra: { peer?: PeerIdentity | undefined; detail?: Readonly<Record<string, unknown>> | undefined } = {},
  events: readonly AuditDraft[] = [],
): Resolution {
  const event = (): AuditDraft => ({
    kind,
    outcome: 'reject',
    reason,
    ...(extra.peer === undefined ? {} : { peer: summarizePeer(extra.peer) }),
    ...(extra.detail === undefined || Object.keys(extra.detail).length === 0 ? {} : { detail: extra.detail }),
  });
  return { peer: undefined, events: () => [...events, event()] };
}

/** Removes forwarded-certificate headers so that no later code can read a forged one by mistake. */
function stripHeaders(ctx: Context, names: ReadonlySet<string>): string[] {
  const removed: string[] = [];
  for (const name of names) {
    if (ctx.req.headers[name] !== undefined) {
      delete ctx.req.headers[name];
      removed.push(name);
    }
  }
  const raw = ctx.req.rawHeaders;
  // rawHeaders is [name, value, name, value, …]; splice in place (HTTP/2 exposes it through a getter).
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (names.has((raw[i] as string).toLowerCase())) raw.splice(i, 2);
  }
  return removed;
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
  const compiled = compileOptions(options);

  function fromSocket(ctx: Context, before: readonly AuditDraft[]): Resolution {
    if (!compiled.tls) return rejected('identity', 'PEER_NO_SOURCE', {}, before);
    const now = compiled.now();
    const connection = compiled.socketPeers.peerOf(ctx, now);
    if (!connection.ok) {
      const detail = {
        ...connection.detail,
        ...(connection.certificate === undefined ? {} : { fingerprint256: connection.certificate.fingerprint256 }),
      };
      return rejected('identity', connection.reason, { detail }, before);
    }
    const problem = validityProblem(connection.certificate, now);
    if (problem !== undefined) return rejected('identity', problem, { peer: connection.identity }, before);
    // An issuer or a CRL of the verified path can expire before the leaf does (RFC 5280 §6.1.3 (a)(2)).
    if (!withinWindow(connection, now)) {
      return rejected('identity', 'PEER_CHAIN_EXPIRED', { peer: connection.identity }, before);
    }
    return identified(connection.identity, before);
  }

  /** The proxy's own verified identity (the socket's peer), valid now along its whole verified path. */
  function proxyIdentity(ctx: Context): PeerIdentity | undefined {
    const now = compiled.now();
    const connection = compiled.socketPeers.peerOf(ctx, now);
    return connection.ok && validityProblem(connection.certificate, now) === undefined && withinWindow(connection, now)
      ? connection.identity
      : undefined;
  }

  function fromProxy(ctx: Context, proxies: CompiledProxies, source: CompiledHeaderSource): Resolution {
    // The proxy sets one source; any other forwarded-certificate header came from its client.
    const removed = stripHeaders(ctx, proxies.otherHeaders.get(source) ?? proxies.headers);
    const before: AuditDraft[] =
      removed.length === 0
        ? []
        : [{ kind: 'proxy', outcome: 'reject', reason: 'PROXY_UNEXPECTED_SOURCE', detail: { headers: removed } }];
    const extraction = source.extract(ctx.req.headers);
    if (extraction.kind === 'absent') {
      // From a trusted proxy, the socket's certificate is the proxy's own: never the client's identity.
      const detail = { problem: 'no forwarded-certificate header' };
      return rejected('proxy', 'PROXY_CERTIFICATE_MISSING', { detail }, before);
    }
    if (extraction.kind === 'invalid') {
      const detail = { source: source.source, problem: extraction.detail };
      return rejected('proxy', extraction.reason, { detail }, before);
    }
    if (extraction.kind === 'claimed') {
      try {
        return identified(createClaimedIdentity(extraction.claims), before);
      } catch {
        // An unparsable claimed Subject is a malformed header: no peer, never a 500.
        const detail = { source: source.source, problem: 'bad Subject' };
        return rejected('proxy', 'PROXY_HEADER_MALFORMED', { detail }, before);
      }
    }
    const outcome = proxies.forwarded.resolve(source.source, extraction.leaf, extraction.chain, compiled.now());
    if (outcome.ok) return identified(outcome.identity, before);
    const detail = { source: source.source, ...outcome.detail };
    return rejected('proxy', outcome.reason, { peer: outcome.identity, detail }, before);
  }

  function resolve(ctx: Context): Resolution {
    const proxies = compiled.proxies;
    if (proxies === undefined) return fromSocket(ctx, []);
    const trust = proxies.trusted.verdict(ctx.req.socket.remoteAddress, () => proxyIdentity(ctx));
    if (trust.trusted) return fromProxy(ctx, proxies, trust.source);
    const removed = stripHeaders(ctx, proxies.headers);
    if (trust.ambiguous) {
      // Proxies bound to different sources share this connection: no one source can be read (fail closed).
      return rejected('proxy', 'PROXY_SOURCE_AMBIGUOUS', { detail: { ...trust.detail, headers: removed } });
    }
    // A forwarded-certificate header from anyone but a trusted proxy is a spoofing attempt (CWE-290).
    const spoofing: AuditDraft[] =
      removed.length === 0
        ? []
        : [
            {
              kind: 'proxy',
              outcome: 'reject',
              reason: 'PROXY_UNTRUSTED_SOURCE',
              detail: { ...trust.detail, headers: removed },
            },
          ];
    return fromSocket(ctx, spoofing);
  }

  return async function peerCertificateMiddleware(ctx: Context, next: Next): Promise<void> {
    // Fail closed: whatever an earlier middleware put here is not this module's decision.
    delete ctx.state.peer;
    const { peer, events } = resolve(ctx);
    if (peer !== undefined) ctx.state.peer = peer;
    // Optional client certificates: default deny unless the route is declared anonymous (ours to decide, before routing).
    const verdict = peer === undefined ? anonymousVerdict(ctx, compiled.anonymousRoute) : 'not-applicable';
    const hook = auditHook(compiled.onAudit);
    if (hook !== undefined) {
      const requestId = compiled.requestId(ctx);
      const gate = anonymousEvent(verdict);
      for (const event of gate === undefined ? events() : [...events(), gate]) {
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
  };
}
