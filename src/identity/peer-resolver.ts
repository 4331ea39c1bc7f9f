/**
 * How `peerCertificate()` finds the peer of one request — from the TLS connection, or from a trusted proxy's header —
 * and which audit events that decision owes. A request from a known connection with a valid certificate and nothing
 * to report resolves to the memoized identity itself: no allocation, no closure.
 */
import type { Context } from 'koa';
import type { AuditEvent } from '../audit/event.js';
import { withinWindow } from '../trust/path.js';
import { validityProblem } from './create-identity.js';
import type { CompiledPeerCertificateOptions, CompiledProxies } from './peer-certificate-options.js';
import type { PeerIdentity } from './peer-identity.js';
import { createClaimedIdentity } from './proxy/claimed-identity.js';
import type { CompiledHeaderSource } from './proxy/sources.js';
import { summarizePeer } from './summarize-peer.js';

/** An audit event before the request id is added. */
export type AuditDraft = Omit<AuditEvent, 'requestId'>;

const NO_EVENTS: readonly AuditDraft[] = Object.freeze([]);

/** A resolution with something to report: no peer, or a peer found after a refusal worth an event. */
export class PeerResolution {
  readonly peer: PeerIdentity | undefined;
  readonly #events: () => readonly AuditDraft[];

  constructor(peer: PeerIdentity | undefined, events: () => readonly AuditDraft[]) {
    this.peer = peer;
    this.#events = events;
  }

  /** The events, built only when an audit hook wants them. */
  events(): readonly AuditDraft[] {
    return this.#events();
  }

  /**
   * Whether `value` is a resolution rather than an identity. A private-field test reads only `value` itself, where
   * `instanceof` calls V8's generic builtin to look up `Symbol.hasInstance` on the class, on every request.
   */
  static is(value: PeerIdentity | PeerResolution): value is PeerResolution {
    return #events in value;
  }
}

/** The event of an identified peer. */
export function identifiedEvent(peer: PeerIdentity): AuditDraft {
  return { kind: 'identity', outcome: 'allow', reason: 'PEER_IDENTIFIED', peer: summarizePeer(peer) };
}

function identified(peer: PeerIdentity, before: readonly AuditDraft[]): PeerIdentity | PeerResolution {
  // Compared by reference: the common case then reads nothing more than it has.
  return before === NO_EVENTS ? peer : new PeerResolution(peer, () => [...before, identifiedEvent(peer)]);
}

function rejected(
  kind: 'identity' | 'proxy',
  reason: AuditEvent['reason'],
  extra: { peer?: PeerIdentity | undefined; detail?: Readonly<Record<string, unknown>> | undefined } = {},
  before: readonly AuditDraft[] = NO_EVENTS,
): PeerResolution {
  const event = (): AuditDraft => ({
    kind,
    outcome: 'reject',
    reason,
    ...(extra.peer === undefined ? {} : { peer: summarizePeer(extra.peer) }),
    ...(extra.detail === undefined || Object.keys(extra.detail).length === 0 ? {} : { detail: extra.detail }),
  });
  return new PeerResolution(undefined, () => [...before, event()]);
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

/** Resolves the peer of each request under one compiled set of options. */
export class PeerResolver {
  readonly #options: CompiledPeerCertificateOptions;

  constructor(options: CompiledPeerCertificateOptions) {
    this.#options = options;
  }

  /** The request's peer: the identity itself when there is nothing else to report, otherwise a resolution. */
  resolve(ctx: Context): PeerIdentity | PeerResolution {
    const proxies = this.#options.proxies;
    if (proxies === undefined) return this.#fromSocket(ctx, NO_EVENTS);
    const trust = proxies.trusted.verdict(ctx.req.socket.remoteAddress, () => this.#proxyIdentity(ctx));
    if (trust.trusted) return this.#fromProxy(ctx, proxies, trust.source);
    const removed = stripHeaders(ctx, proxies.headers);
    if (trust.ambiguous) {
      // Proxies bound to different sources share this connection: no one source can be read (fail closed).
      return rejected('proxy', 'PROXY_SOURCE_AMBIGUOUS', { detail: { ...trust.detail, headers: removed } });
    }
    // A forwarded-certificate header from anyone but a trusted proxy is a spoofing attempt (CWE-290).
    const spoofing: readonly AuditDraft[] =
      removed.length === 0
        ? NO_EVENTS
        : [
            {
              kind: 'proxy',
              outcome: 'reject',
              reason: 'PROXY_UNTRUSTED_SOURCE',
              detail: { ...trust.detail, headers: removed },
            },
          ];
    return this.#fromSocket(ctx, spoofing);
  }

  #fromSocket(ctx: Context, before: readonly AuditDraft[]): PeerIdentity | PeerResolution {
    if (!this.#options.tls) return rejected('identity', 'PEER_NO_SOURCE', {}, before);
    const now = this.#options.now();
    const connection = this.#options.socketPeers.peerOf(ctx, now);
    if (!connection.ok) {
      const detail = {
        ...connection.detail,
        ...(connection.certificate === undefined ? {} : { fingerprint256: connection.certificate.fingerprint256 }),
      };
      return rejected('identity', connection.reason, { detail }, before);
    }
    // Checked per request: a keep-alive connection can outlive its certificate.
    const problem = validityProblem(connection.identity, now);
    if (problem !== undefined) return rejected('identity', problem, { peer: connection.identity }, before);
    // An issuer or a CRL of the verified path can expire before the leaf does (RFC 5280 §6.1.3 (a)(2)).
    if (!withinWindow(connection, now)) {
      return rejected('identity', 'PEER_CHAIN_EXPIRED', { peer: connection.identity }, before);
    }
    return identified(connection.identity, before);
  }

  /** The proxy's own verified identity (the socket's peer), valid now along its whole verified path. */
  #proxyIdentity(ctx: Context): PeerIdentity | undefined {
    const now = this.#options.now();
    const connection = this.#options.socketPeers.peerOf(ctx, now);
    return connection.ok && validityProblem(connection.identity, now) === undefined && withinWindow(connection, now)
      ? connection.identity
      : undefined;
  }

  #fromProxy(ctx: Context, proxies: CompiledProxies, source: CompiledHeaderSource): PeerIdentity | PeerResolution {
    // The proxy sets one source; any other forwarded-certificate header came from its client.
    const removed = stripHeaders(ctx, proxies.otherHeaders.get(source) ?? proxies.headers);
    const before: readonly AuditDraft[] =
      removed.length === 0
        ? NO_EVENTS
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
    const outcome = proxies.forwarded.resolve(source.source, extraction.leaf, extraction.chain, this.#options.now());
    if (outcome.ok) return identified(outcome.identity, before);
    const detail = { source: source.source, ...outcome.detail };
    return rejected('proxy', outcome.reason, { peer: outcome.identity, detail }, before);
  }
}
