/**
 * Turns a parsed certificate plus its provenance into the frozen {@link PeerIdentity} of the contract, and holds the
 * checks every identity must pass on every request, whatever its source.
 */
import { CLIENT_AUTH_OID, type ParsedCertificate } from './parse-certificate.js';
import type { PeerIdentity, PeerSource, PeerVerification } from './peer-identity.js';

/** Where an identity came from and who verified it. */
export interface Provenance {
  readonly source: PeerSource;
  readonly verifiedBy: PeerVerification;
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

/** A validity period in epoch milliseconds. */
export interface ValidityPeriod {
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * The validity period of every identity built here. The per-request checks read these numbers: the identity's own
 * `notBefore`/`notAfter` getters allocate a fresh `Date` per read.
 */
const validityPeriods = new WeakMap<object, ValidityPeriod>();

/** The validity period of an identity built by {@link createIdentity}, or `undefined` for any other object. */
export function validityPeriodOf(value: object): ValidityPeriod | undefined {
  return validityPeriods.get(value);
}

/**
 * Builds the immutable identity. `der`, `notBefore` and `notAfter` are getters returning fresh copies, because a
 * `Uint8Array` or `Date` cannot be frozen and the parsed certificate is shared through the cache.
 */
export function createIdentity(parsed: ParsedCertificate, provenance: Provenance): PeerIdentity {
  const identity = Object.create(null) as Record<string, unknown>;
  Object.assign(identity, {
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
  });
  Object.defineProperties(identity, {
    der: { enumerable: true, get: () => new Uint8Array(parsed.der) },
    notBefore: { enumerable: true, get: () => new Date(parsed.notBefore) },
    notAfter: { enumerable: true, get: () => new Date(parsed.notAfter) },
  });
  Object.freeze(identity);
  validityPeriods.set(identity, parsed);
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
export function validityProblem(parsed: ParsedCertificate, now: number): CertificateUseProblem | undefined {
  if (now > parsed.notAfter) return 'PEER_CERTIFICATE_EXPIRED';
  if (now < parsed.notBefore) return 'PEER_CERTIFICATE_NOT_YET_VALID';
  return undefined;
}
