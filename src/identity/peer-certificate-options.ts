/**
 * `peerCertificate()`'s options, validated and compiled once at startup: the certificate reader and caches, the
 * connection peers, the header sources and the proxies allowed to set them.
 */
import type { AnonymousRouteMatcher } from '../anonymous/anonymous-routes.js';
import { compileAnonymousRoutes } from '../anonymous/anonymous-routes.js';
import { type AuditHook, type RequestIdResolver, requestIdFromHeader } from '../audit/event.js';
import { InvalidOptionError } from '../errors.js';
import {
  assertOptionsObject,
  isPlainObject,
  optionalFunction,
  optionalInteger,
  ownValue,
} from '../options/validate.js';
import { trustState } from '../trust/trust.js';
import { CertificateReader } from './certificate-reader.js';
import { compileVerification, ForwardedPeers } from './proxy/forwarded-peers.js';
import { type CompiledHeaderSource, compileSources } from './proxy/sources.js';
import { type CompiledTrustedProxies, compileTrustedProxies } from './proxy/trusted-proxies.js';
import { SocketPeers } from './socket-peer.js';

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

/** The header sources and the proxies trusted to set them. */
export interface CompiledProxies {
  readonly headers: ReadonlySet<string>;
  /** Per source, the headers of every other source (removed from the requests of a proxy bound to it). */
  readonly otherHeaders: ReadonlyMap<CompiledHeaderSource, ReadonlySet<string>>;
  readonly trusted: CompiledTrustedProxies;
  readonly forwarded: ForwardedPeers;
}

/** Everything `peerCertificate()` needs per request, decided at startup. */
export interface CompiledPeerCertificateOptions {
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

/** Validates `peerCertificate()`'s options; throws `InvalidOptionError` naming the first wrong one. */
export function compilePeerCertificateOptions(options: unknown): CompiledPeerCertificateOptions {
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
