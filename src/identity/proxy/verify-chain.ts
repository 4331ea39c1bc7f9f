/**
 * App-side re-verification of a forwarded certificate (notes §4 pitfalls 2 and 36): a proxy may pass on a
 * certificate it never verified (`ssl_verify_client optional_no_ca`, ALB passthrough), so the chain is rebuilt here
 * against the application's own trust anchors, with the forwarded chain only as untrusted intermediates. Every link
 * is signature-checked; CA flag, key usage, path length, key strength, signature algorithm and CRLs are enforced.
 * Time is not checked here: the result carries a validity window that the caller checks on every request.
 */
import type { X509Certificate } from 'node:crypto';
import { signatureVerdict, weakKeyReason } from '../../trust/algorithms.js';
import { crlSignedBy, type ParsedCrl } from '../../trust/crl.js';
import type { ParsedCertificate } from '../parse-certificate.js';

/** A certificate in both forms: Node's (for signatures) and ours (for fields). */
export interface ChainCertificate {
  readonly x509: X509Certificate;
  readonly parsed: ParsedCertificate;
}

/** The verifier's trust configuration, compiled at startup. */
export interface TrustConfiguration {
  readonly anchors: readonly ChainCertificate[];
  /** Intermediates the application knows (untrusted, like forwarded ones). */
  readonly intermediates: readonly ChainCertificate[];
  readonly crls: readonly ParsedCrl[];
  readonly minRsaBits: number;
  /** Maximum number of issuers above the leaf, the anchor included. */
  readonly maxChainLength: number;
}

/** Why a forwarded certificate failed re-verification: the codes the audit hook receives. */
export type VerifyProblem =
  | 'PROXY_CHAIN_UNTRUSTED'
  | 'PROXY_CERTIFICATE_REVOKED'
  | 'PROXY_CRL_UNAVAILABLE'
  | 'PROXY_WEAK_KEY'
  | 'PROXY_WEAK_SIGNATURE';

/** A verified path: issuer fingerprints (nearest first, anchor last) and when the whole path is valid. */
export interface VerifiedPath {
  readonly issuerChain: readonly string[];
  readonly validFrom: number;
  readonly validUntil: number;
}

export type VerifyOutcome =
  | { readonly ok: true; readonly path: VerifiedPath }
  | { readonly ok: false; readonly reason: VerifyProblem };

/** Whether `issuer` may have signed `subject`: CA, keyCertSign, names, AKI/SKI (checkIssued) and the signature. */
function issued(issuer: ChainCertificate, subject: ChainCertificate): boolean {
  const parsed = issuer.parsed;
  // RFC 5280 §4.2.1.9/§4.2.1.3: only a CA with keyCertSign (when key usage is present) signs certificates.
  if (!parsed.isCA) return false;
  if (parsed.keyUsage.length > 0 && !parsed.keyUsage.includes('keyCertSign')) return false;
  // Name constraints are not evaluated here; a constrained CA is refused rather than trusted unconstrained.
  if (parsed.hasNameConstraints || parsed.unknownCriticalExtensions.length > 0) return false;
  if (subject.parsed.issuerNameHex !== parsed.subjectNameHex) return false;
  try {
    return subject.x509.checkIssued(issuer.x509) && subject.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

/** Depth-first path building from the leaf to an anchor, at most `maxChainLength` issuers, no certificate twice. */
function buildPath(
  current: ChainCertificate,
  candidates: readonly ChainCertificate[],
  trust: TrustConfiguration,
  used: ReadonlySet<string>,
): ChainCertificate[] | undefined {
  for (const anchor of trust.anchors) {
    if (issued(anchor, current)) return [anchor];
  }
  // One more intermediate plus the anchor above it must still fit in maxChainLength issuers.
  if (used.size + 2 > trust.maxChainLength) return undefined;
  for (const candidate of candidates) {
    const fingerprint = candidate.parsed.fingerprint256;
    if (used.has(fingerprint) || !issued(candidate, current)) continue;
    const rest = buildPath(candidate, candidates, trust, new Set([...used, fingerprint]));
    if (rest !== undefined) return [candidate, ...rest];
  }
  return undefined;
}

function revocationProblem(
  chain: readonly ChainCertificate[],
  trust: TrustConfiguration,
): { problem?: VerifyProblem; thisUpdate: number; nextUpdate: number } {
  let nextUpdate = Number.POSITIVE_INFINITY;
  let thisUpdate = Number.NEGATIVE_INFINITY;
  // Like OpenSSL with Node's `crl` option (CRL_CHECK_ALL): once any CRL is configured, every certificate below the
  // anchor needs a CRL from its issuer; a missing one fails closed (Harper #2380 shows what failing open costs).
  for (let i = 0; i < chain.length - 1; i += 1) {
    const subject = chain[i] as ChainCertificate;
    const issuer = chain[i + 1] as ChainCertificate;
    const crls = trust.crls.filter(
      (crl) => crl.issuerNameHex === subject.parsed.issuerNameHex && crlSignedBy(crl, issuer.x509.publicKey),
    );
    if (crls.length === 0) return { problem: 'PROXY_CRL_UNAVAILABLE', thisUpdate, nextUpdate };
    if (crls.some((crl) => crl.revoked.has(subject.parsed.serialNumber))) {
      return { problem: 'PROXY_CERTIFICATE_REVOKED', thisUpdate, nextUpdate };
    }
    // The path is usable only while every CRL it relies on is current (OpenSSL: CRL_HAS_EXPIRED).
    nextUpdate = Math.min(nextUpdate, ...crls.map((crl) => crl.nextUpdate));
    thisUpdate = Math.max(thisUpdate, ...crls.map((crl) => crl.thisUpdate));
  }
  return { thisUpdate, nextUpdate };
}

/** Verifies `leaf` with `forwarded` as untrusted intermediates. Never throws. */
export function verifyChain(
  leaf: ChainCertificate,
  forwarded: readonly ChainCertificate[],
  trust: TrustConfiguration,
): VerifyOutcome {
  const candidates = [...forwarded, ...trust.intermediates].filter(
    (candidate) => candidate.parsed.fingerprint256 !== leaf.parsed.fingerprint256,
  );
  const issuers = buildPath(leaf, candidates, trust, new Set());
  if (issuers === undefined) return { ok: false, reason: 'PROXY_CHAIN_UNTRUSTED' };
  const chain = [leaf, ...issuers];
  // RFC 5280 §4.2.1.9: a CA's pathLenConstraint bounds the intermediates below it (the anchor's is honoured too).
  for (let i = 1; i < chain.length; i += 1) {
    const limit = (chain[i] as ChainCertificate).parsed.pathLength;
    if (limit !== undefined && i - 1 > limit) return { ok: false, reason: 'PROXY_CHAIN_UNTRUSTED' };
  }
  if (!chain.every((certificate) => weakKeyReason(certificate.x509.publicKey, trust.minRsaBits) === undefined))
    return { ok: false, reason: 'PROXY_WEAK_KEY' };
  // The anchor's self-signature is not relied upon; every signature below it is.
  if (!chain.slice(0, -1).every((certificate) => signatureVerdict(certificate.parsed.signatureAlgorithm).ok)) {
    return { ok: false, reason: 'PROXY_WEAK_SIGNATURE' };
  }
  const revocation =
    trust.crls.length === 0
      ? { thisUpdate: Number.NEGATIVE_INFINITY, nextUpdate: Number.POSITIVE_INFINITY }
      : revocationProblem(chain, trust);
  if (revocation.problem !== undefined) return { ok: false, reason: revocation.problem };
  return {
    ok: true,
    path: Object.freeze({
      issuerChain: Object.freeze(issuers.map((issuer) => issuer.parsed.fingerprint256)),
      validFrom: Math.max(revocation.thisUpdate, ...chain.map((certificate) => certificate.parsed.notBefore)),
      validUntil: Math.min(revocation.nextUpdate, ...chain.map((certificate) => certificate.parsed.notAfter)),
    }),
  };
}
