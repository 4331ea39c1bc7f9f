/**
 * Turns a parsed certificate plus its provenance into the frozen {@link PeerIdentity} of the contract, and holds the
 * checks every identity must pass on every request, whatever its source.
 */
import { CLIENT_AUTH_OID, type ParsedCertificate } from './parse-certificate.js';
import type { PeerIdentity, PeerSource, PeerVerification } from './peer-identity.js';

/** Where an identity came from and who verified it: a handshake or this application, never a proxy's claim. */
export interface Provenance {
  readonly source: PeerSource;
  readonly verifiedBy: Exclude<PeerVerification, 'proxy-claimed'>;
  /** SHA-256 fingerprints of the issuers, nearest first, no repeats. */
  readonly issuerChain: readonly string[];
  /**
   * The SPIFFE ID the verified path vouches for: the certificate's own, or `undefined` when trust domains are
   * configured and the path does not end at that ID's trust-domain bundle (SPIFFE Federation §7.3).
   */
  readonly spiffeId: string | undefined;
}

function toPem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * A peer whose certificate path verified, direct or forwarded: the parsed certificate, its identity, and the window
 * (epoch ms) in which the whole verified path (issuers, CRLs) is valid, checked per request.
 */
export interface VerifiedPeer {
  readonly ok: true;
  readonly certificate: ParsedCertificate;
  readonly identity: PeerIdentity;
  readonly validFrom: number;
  readonly validUntil: number;
}

/** A constructor that returns `target` makes it `this` for a subclass's private fields (ECMA-262 §10.2.2). */
class Adopted {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the point: the subclass stamps its fields on `target`.
    return target;
  }
}

/**
 * What a request checks on an identity built here, in private fields of the identity itself: its validity period,
 * and the last decision remembered on it. Nobody else can set them (a look-alike object has none), no reflection
 * sees them, and a request reads them with loads from an object it already touches, without a table lookup.
 */
class IdentityStamp extends Adopted {
  readonly #notBefore: number;
  readonly #notAfter: number;
  // Private fields stay writable on the frozen identity: a memo, invisible from outside.
  #memoKey: object | undefined = undefined;
  #memoValue: unknown = undefined;

  /** Stamps `identity` (before it is frozen) with its period in epoch milliseconds. */
  constructor(identity: object, notBefore: number, notAfter: number) {
    super(identity);
    this.#notBefore = notBefore;
    this.#notAfter = notAfter;
  }

  static isStamped(value: object): boolean {
    return #notAfter in value;
  }

  static positionOf(value: object, now: number): PeriodPosition | undefined {
    if (!(#notAfter in value)) return undefined;
    const stamped = value as IdentityStamp;
    return periodPosition(stamped.#notBefore, stamped.#notAfter, now);
  }

  static remembered(value: object, key: object): unknown {
    if (!(#notAfter in value)) return undefined;
    const stamped = value as IdentityStamp;
    return stamped.#memoKey === key ? stamped.#memoValue : undefined;
  }

  static remember(value: object, key: object, memo: unknown): void {
    if (!(#notAfter in value)) return;
    const stamped = value as IdentityStamp;
    stamped.#memoKey = key;
    stamped.#memoValue = memo;
  }
}

/** Where a time falls against a validity period. */
export type PeriodPosition = 'before' | 'within' | 'after';

/** Where `now` falls in [`notBefore`, `notAfter`]; a bound that is not a number (an invalid `Date`) fails closed. */
function periodPosition(notBefore: number, notAfter: number, now: number): PeriodPosition {
  if (!(now <= notAfter)) return 'after';
  if (!(now >= notBefore)) return 'before';
  return 'within';
}

/**
 * Whether `value` is an identity built by {@link createIdentity} (a look-alike object is not): its certificate was
 * verified (by a handshake or by this application), never only claimed by a proxy.
 */
export function isBuiltIdentity(value: object): boolean {
  return IdentityStamp.isStamped(value);
}

/**
 * The value remembered on a built identity under `key` by {@link rememberOn}, or `undefined` (another key was
 * remembered since, or the identity is a look-alike, which remembers nothing). One entry per identity: a value that
 * depends on the identity and `key` alone (a policy's verdict), so the common case of one policy per route reads it
 * from the identity instead of a table; a caller keeps its own table for the rest.
 */
export function rememberedOn(identity: PeerIdentity, key: object): unknown {
  return IdentityStamp.remembered(identity, key);
}

/** Remembers `value` on a built identity under `key`, replacing what was remembered; a look-alike is left alone. */
export function rememberOn(identity: PeerIdentity, key: object, value: unknown): void {
  IdentityStamp.remember(identity, key, value);
}

/**
 * Where `now` falls in the identity's validity period: from the stamped numbers of an identity built here, else
 * from its `notBefore`/`notAfter` dates.
 */
export function validityPosition(identity: PeerIdentity, now: number): PeriodPosition {
  return (
    IdentityStamp.positionOf(identity, now) ??
    periodPosition(identity.notBefore.getTime(), identity.notAfter.getTime(), now)
  );
}

/**
 * Builds the immutable identity. `der`, `notBefore` and `notAfter` are getters returning fresh copies, because a
 * `Uint8Array` or `Date` cannot be frozen and the parsed certificate is shared through the cache.
 */
export function createIdentity(parsed: ParsedCertificate, provenance: Provenance): PeerIdentity {
  // A literal whose prototype is then set to null keeps V8's fast properties (Object.create(null) makes a dictionary).
  const identity = Object.setPrototypeOf(
    {
      subject: parsed.subject,
      issuer: parsed.issuer,
      san: parsed.san,
      spiffeId: provenance.spiffeId,
      serialNumber: parsed.serialNumber,
      fingerprint256: parsed.fingerprint256,
      spkiFingerprint256: parsed.spkiFingerprint256,
      keyUsage: parsed.keyUsage,
      extKeyUsage: parsed.extKeyUsage,
      isCA: parsed.isCA,
      issuerChain: Object.freeze([...provenance.issuerChain]),
      pem: toPem(parsed.der),
      source: provenance.source,
      verifiedBy: provenance.verifiedBy,
    },
    null,
  ) as Record<string, unknown>;
  Object.defineProperties(identity, {
    der: { enumerable: true, get: () => new Uint8Array(parsed.der) },
    notBefore: { enumerable: true, get: () => new Date(parsed.notBefore) },
    notAfter: { enumerable: true, get: () => new Date(parsed.notAfter) },
  });
  new IdentityStamp(identity, parsed.notBefore, parsed.notAfter);
  Object.freeze(identity);
  return identity as unknown as PeerIdentity;
}

/** Why a readable certificate cannot be a peer: the codes the audit hook receives. */
export type CertificateUseProblem =
  | 'PEER_CERTIFICATE_EXPIRED'
  | 'PEER_CERTIFICATE_NOT_YET_VALID'
  | 'PEER_EKU_NOT_CLIENT_AUTH'
  | 'PEER_UNKNOWN_CRITICAL_EXTENSION';

/** The checks that do not depend on time: EKU and critical extensions. */
export function staticUseProblem(parsed: ParsedCertificate): CertificateUseProblem | undefined {
  // RFC 5280 §4.2: an unrecognized critical extension MUST make the certificate unusable.
  if (parsed.unknownCriticalExtensions.length > 0) return 'PEER_UNKNOWN_CRITICAL_EXTENSION';
  // RFC 5280 §4.2.1.12: when EKU is present, the certificate may only be used for the listed purposes.
  if (parsed.hasExtKeyUsage && !parsed.extKeyUsage.includes(CLIENT_AUTH_OID)) return 'PEER_EKU_NOT_CLIENT_AUTH';
  return undefined;
}

/**
 * The validity check, run on every request: keep-alive and HTTP/2 connections outlive certificates, and the
 * handshake checked the dates only once (RFC 5280 §6.1.3 (a)(2): validity is judged at the time of use).
 */
export function validityProblem(identity: PeerIdentity, now: number): CertificateUseProblem | undefined {
  const position = validityPosition(identity, now);
  if (position === 'after') return 'PEER_CERTIFICATE_EXPIRED';
  if (position === 'before') return 'PEER_CERTIFICATE_NOT_YET_VALID';
  return undefined;
}
