/**
 * Path building by signature and RFC 5280 §6 path validation for one purpose (client or server authentication), at
 * least as strict as OpenSSL's `X509_verify_cert` with `-purpose sslclient`: the one answer to "which anchor vouched
 * for this leaf, by which path". Used for direct TLS peers (to bind issuers to the path OpenSSL could have verified)
 * and for forwarded certificates (as the only verification).
 *
 * Time is an input of path building (a currently valid issuer is preferred) but the result is a validity window,
 * so that a caller can cache the path and check the window on every request.
 *
 * @module trust/path
 */
import type { X509Certificate } from 'node:crypto';
import type { ParsedCertificate } from '../identity/parse-certificate.js';
import { signatureVerdict, weakKeyReason } from './algorithms.js';
import { crlSignedBy, type ParsedCrl } from './crl.js';

/** A certificate in both forms: Node's (keys, signatures) and the strict parser's (fields). */
export interface TrustCertificate {
  readonly x509: X509Certificate;
  readonly parsed: ParsedCertificate;
}

/** A configured trust anchor and the SPIFFE trust domain whose bundle holds it (`undefined`: plain `ca`). */
export interface Anchor {
  readonly certificate: TrustCertificate;
  readonly trustDomain: string | undefined;
}

/** The leaf purpose a path is validated for (RFC 5280 §4.2.1.12 id-kp-clientAuth / id-kp-serverAuth). */
export type PathPurpose = 'clientAuth' | 'serverAuth';

/** Everything path validation depends on besides the certificates. */
export interface PathRules {
  readonly anchors: readonly Anchor[];
  readonly crls: readonly ParsedCrl[];
  readonly minRsaBits: number;
  /** Maximum number of issuers above the leaf, the anchor included. */
  readonly maxChainLength: number;
  readonly purpose: PathPurpose;
}

/** Why no path was accepted. */
export type PathProblem =
  | 'CHAIN_UNTRUSTED'
  | 'CERTIFICATE_REVOKED'
  | 'CRL_UNAVAILABLE'
  | 'WEAK_KEY'
  | 'WEAK_SIGNATURE'
  | 'LEAF_UNUSABLE';

/** A verified path: the issuers (nearest first, anchor last), the anchor, and when the whole path is valid. */
export interface VerifiedPath {
  /** SHA-256 fingerprints of the issuers, nearest first, the anchor last. */
  readonly issuerChain: readonly string[];
  readonly anchor: Anchor;
  /** Epoch ms: the latest notBefore / thisUpdate on the path. */
  readonly validFrom: number;
  /** Epoch ms: the earliest notAfter / nextUpdate on the path. */
  readonly validUntil: number;
}

export type PathOutcome =
  | { readonly ok: true; readonly path: VerifiedPath }
  | { readonly ok: false; readonly problem: PathProblem; readonly detail: string };

const purposeOids: Readonly<Record<PathPurpose, string>> = {
  clientAuth: '1.3.6.1.5.5.7.3.2',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};
// Netscape cert type bits (the old nsCertType extension OpenSSL still honours): SSL client, SSL server, SSL CA.
const NS_SSL_CLIENT = 0x80;
const NS_SSL_SERVER = 0x40;
const NS_SSL_CA = 0x04;
/** Hard bound on the candidates tried per certificate: a hostile chain cannot make path building exponential. */
const MAX_SIGNATURE_CHECKS = 64;

type Failure = { readonly ok: false; readonly problem: PathProblem; readonly detail: string };

function fail(problem: PathProblem, detail: string): Failure {
  return { ok: false, problem, detail };
}

function isSelfIssued(certificate: TrustCertificate): boolean {
  return certificate.parsed.issuerNameHex === certificate.parsed.subjectNameHex;
}

/** Why `certificate` cannot be the leaf of a path for `purpose`, or `undefined`. OpenSSL `check_purpose_ssl_*`. */
export function leafProblem(parsed: ParsedCertificate, purpose: PathPurpose): string | undefined {
  // RFC 5280 §4.2: an unrecognized (or misused) critical extension makes the certificate unusable.
  if (parsed.unknownCriticalExtensions.length > 0) return `critical extension ${parsed.unknownCriticalExtensions[0]}`;
  // A CA certificate is not an end entity: a peer presenting one (even a trust anchor) is refused.
  if (parsed.isCA) return 'a CA certificate as the leaf';
  // RFC 5280 §4.2.1.3: keyCertSign is for CA certificates only; a leaf asserting it is malformed (X509-SVID §4.3 too).
  if (parsed.keyUsage.includes('keyCertSign')) return 'keyCertSign on a leaf';
  // RFC 5280 §4.2.1.12: a present EKU limits the key to its purposes; anyExtendedKeyUsage is not the purpose.
  if (parsed.hasExtKeyUsage && !parsed.extKeyUsage.includes(purposeOids[purpose])) return `EKU without ${purpose}`;
  const usage = parsed.keyUsage;
  // OpenSSL ku_reject: a TLS client signs (or agrees keys); a server may also decrypt (RSA key transport).
  const allowed =
    purpose === 'clientAuth'
      ? usage.includes('digitalSignature') || usage.includes('keyAgreement')
      : usage.includes('digitalSignature') || usage.includes('keyAgreement') || usage.includes('keyEncipherment');
  if (parsed.hasKeyUsage && !allowed) return `keyUsage does not allow ${purpose}`;
  const nsType = parsed.netscapeCertType;
  if (nsType !== undefined && (nsType & (purpose === 'clientAuth' ? NS_SSL_CLIENT : NS_SSL_SERVER)) === 0) {
    return `Netscape cert type excludes ${purpose}`;
  }
  // RFC 5480 §2.1.1: only named curves; explicit parameters can hide a weak curve.
  if (parsed.explicitCurve) return 'explicit EC parameters';
  return undefined;
}

/** Why `issuer` cannot issue certificates on a path for `purpose`, or `undefined`. OpenSSL `check_ssl_ca`. */
function issuerProblem(issuer: ParsedCertificate, purpose: PathPurpose, anchor: boolean): string | undefined {
  if (issuer.unknownCriticalExtensions.length > 0) return `critical extension ${issuer.unknownCriticalExtensions[0]}`;
  // RFC 5280 §4.2.1.9: only cA=TRUE certificates issue certificates; §4.2.1.3: and keyCertSign when KU is present.
  if (!issuer.isCA) return 'issuer is not a CA';
  if (issuer.hasKeyUsage && !issuer.keyUsage.includes('keyCertSign')) return 'issuer keyUsage lacks keyCertSign';
  // RFC 5280 §4.1.2.6: a CA's subject MUST be non-empty.
  if (issuer.subject.rdns.length === 0) return 'CA with an empty subject';
  // Name constraints are not evaluated: a constrained CA is refused (fail closed) rather than trusted unconstrained.
  if (issuer.hasNameConstraints) return 'CA with name constraints (not supported)';
  if (issuer.explicitCurve) return 'explicit EC parameters';
  if (anchor) return undefined;
  // OpenSSL xku_reject on CAs: an intermediate whose EKU excludes the purpose cannot vouch for it.
  if (issuer.hasExtKeyUsage && !issuer.extKeyUsage.includes(purposeOids[purpose])) return `CA EKU without ${purpose}`;
  if (issuer.netscapeCertType !== undefined && (issuer.netscapeCertType & NS_SSL_CA) === 0) {
    return 'Netscape cert type without SSL CA';
  }
  return undefined;
}

/** Whether `issuer` signed `subject`: names (OpenSSL's canonical match), key identifiers, and the signature. */
function signed(issuer: TrustCertificate, subject: TrustCertificate): boolean {
  const aki = subject.parsed.authorityKeyId;
  const ski = issuer.parsed.subjectKeyId;
  // RFC 5280 §4.2.1.1: the AKI names the issuer's key; a mismatch is another issuer whatever the names say.
  if (aki !== undefined && ski !== undefined && aki !== ski) return false;
  try {
    return subject.x509.checkIssued(issuer.x509) && subject.x509.verify(issuer.x509.publicKey);
  } catch {
    // Fail closed: an algorithm/key mismatch is not an issuer.
    return false;
  }
}

function crlCovers(crl: ParsedCrl, subject: TrustCertificate, issuer: TrustCertificate): boolean {
  const scope = crl.scope;
  // RFC 5280 §5.2.5: a CRL limited to CA (or to user) certificates, reasons or indirect entries does not cover others.
  if (scope.partial) return false;
  if (scope.onlyCaCerts && !subject.parsed.isCA) return false;
  if (scope.onlyUserCerts && subject.parsed.isCA) return false;
  if (
    scope.distributionPoint !== undefined &&
    !subject.parsed.crlDistributionPointNames.includes(scope.distributionPoint)
  ) {
    return false;
  }
  // RFC 5280 §4.2.1.3: only a key with cRLSign signs CRLs.
  if (issuer.parsed.hasKeyUsage && !issuer.parsed.keyUsage.includes('cRLSign')) return false;
  return crl.issuerNameHex === subject.parsed.issuerNameHex && crlSignedBy(crl, issuer.x509.publicKey);
}

/** Checks one complete path `[leaf, …, anchor]`; returns its window or the first problem. */
function validate(
  chain: readonly TrustCertificate[],
  anchor: Anchor,
  rules: PathRules,
): { ok: true; path: VerifiedPath } | Failure {
  const leaf = chain[0] as TrustCertificate;
  const leafIssue = leafProblem(leaf.parsed, rules.purpose);
  if (leafIssue !== undefined) return fail('LEAF_UNUSABLE', leafIssue);
  let belowNonSelfIssued = 0;
  for (let i = 1; i < chain.length; i += 1) {
    const issuer = chain[i] as TrustCertificate;
    const problem = issuerProblem(issuer.parsed, rules.purpose, i === chain.length - 1);
    if (problem !== undefined) return fail('CHAIN_UNTRUSTED', problem);
    // RFC 5280 §4.2.1.9 and §6.1.4 (l)-(m): pathLen counts the non-self-issued intermediates below the CA.
    const limit = issuer.parsed.pathLength;
    if (limit !== undefined && belowNonSelfIssued > limit) return fail('CHAIN_UNTRUSTED', 'pathLenConstraint exceeded');
    if (!isSelfIssued(issuer)) belowNonSelfIssued += 1;
  }
  for (const certificate of chain) {
    const weak = weakKeyReason(certificate.x509.publicKey, rules.minRsaBits);
    if (weak !== undefined) return fail('WEAK_KEY', weak);
  }
  // The anchor's self-signature is not relied upon (RFC 5280 §6.1: the anchor is input, not a certificate to verify).
  for (const certificate of chain.slice(0, -1)) {
    const verdict = signatureVerdict(certificate.parsed.signatureAlgorithm);
    if (!verdict.ok) return fail('WEAK_SIGNATURE', verdict.name);
  }
  let validFrom = Math.max(...chain.map((certificate) => certificate.parsed.notBefore));
  let validUntil = Math.min(...chain.map((certificate) => certificate.parsed.notAfter));
  if (rules.crls.length > 0) {
    // Like OpenSSL with CRL_CHECK_ALL (Node's `crl` option): once CRLs are configured, every certificate below the
    // anchor needs a covering CRL from its issuer; a missing one fails closed.
    for (let i = 0; i < chain.length - 1; i += 1) {
      const subject = chain[i] as TrustCertificate;
      const issuer = chain[i + 1] as TrustCertificate;
      const covering = rules.crls.filter((crl) => crlCovers(crl, subject, issuer));
      if (covering.length === 0) return fail('CRL_UNAVAILABLE', `no CRL for ${subject.parsed.subject.toString()}`);
      if (covering.some((crl) => crl.revoked.has(subject.parsed.serialNumber))) {
        return fail('CERTIFICATE_REVOKED', `serial ${subject.parsed.serialNumber}`);
      }
      // The path is usable only while every CRL it relies on is current (OpenSSL: CRL_HAS_EXPIRED).
      validFrom = Math.max(validFrom, ...covering.map((crl) => crl.thisUpdate));
      validUntil = Math.min(validUntil, ...covering.map((crl) => crl.nextUpdate));
    }
  }
  return {
    ok: true,
    path: Object.freeze({
      issuerChain: Object.freeze(chain.slice(1).map((certificate) => certificate.parsed.fingerprint256)),
      anchor,
      validFrom,
      validUntil,
    }),
  };
}

/** Currently valid candidates first, so an expired cross-sign does not hide a valid path. */
function byValidity(time: number): (a: TrustCertificate, b: TrustCertificate) => number {
  const valid = (certificate: TrustCertificate) =>
    certificate.parsed.notBefore <= time && time < certificate.parsed.notAfter ? 0 : 1;
  return (a, b) => valid(a) - valid(b);
}

/**
 * Whether `time` is inside a verified path's window. The end is exclusive, as OpenSSL's `X509_cmp_time` treats
 * notAfter (RFC 5280 §4.1.2.5 calls it inclusive; one second stricter is the safe side).
 */
export function withinWindow(path: { readonly validFrom: number; readonly validUntil: number }, time: number): boolean {
  return time >= path.validFrom && time < path.validUntil;
}

/**
 * Builds and validates a path from `leaf` to one of `rules.anchors`, with `sent` as untrusted intermediates (what
 * the peer sent, or a proxy forwarded). Anchors are tried in the order given, so a caller can prefer a trust
 * domain. Never throws.
 *
 * @param time epoch ms: which candidates are preferred, not a verdict (the caller checks the returned window).
 */
export function verifyPath(
  leaf: TrustCertificate,
  sent: readonly TrustCertificate[],
  rules: PathRules,
  time: number,
): PathOutcome {
  // A trust anchor presented as the client proves nothing (OpenSSL refuses it as a leaf for sslclient too).
  if (rules.anchors.some((anchor) => anchor.certificate.parsed.fingerprint256 === leaf.parsed.fingerprint256)) {
    return fail('LEAF_UNUSABLE', 'a trust anchor as the leaf');
  }
  const anchorPrints = new Set(rules.anchors.map((anchor) => anchor.certificate.parsed.fingerprint256));
  // A sent copy of an anchor is the anchor: reaching it through the candidates would only duplicate it.
  const candidates = sent
    .filter((candidate) => candidate.parsed.fingerprint256 !== leaf.parsed.fingerprint256)
    .filter((candidate) => !anchorPrints.has(candidate.parsed.fingerprint256))
    .sort(byValidity(time));
  const anchors = [...rules.anchors].sort((a, b) => byValidity(time)(a.certificate, b.certificate));
  let firstFailure: Failure | undefined;
  let budget = MAX_SIGNATURE_CHECKS * Math.max(1, rules.maxChainLength);

  const extend = (
    chain: TrustCertificate[],
    used: ReadonlySet<string>,
  ): { ok: true; path: VerifiedPath } | undefined => {
    const current = chain[chain.length - 1] as TrustCertificate;
    for (const anchor of anchors) {
      if (budget <= 0) return undefined;
      budget -= 1;
      if (!signed(anchor.certificate, current)) continue;
      const outcome = validate([...chain, anchor.certificate], anchor, rules);
      if (outcome.ok) return outcome;
      firstFailure ??= outcome;
    }
    // One more intermediate plus the anchor above it must still fit in maxChainLength issuers.
    if (chain.length + 1 > rules.maxChainLength) return undefined;
    for (const candidate of candidates) {
      const fingerprint = candidate.parsed.fingerprint256;
      if (used.has(fingerprint) || budget <= 0) continue;
      budget -= 1;
      if (!signed(candidate, current)) continue;
      const found = extend([...chain, candidate], new Set([...used, fingerprint]));
      if (found !== undefined) return found;
    }
    return undefined;
  };

  const found = extend([leaf], new Set([leaf.parsed.fingerprint256]));
  if (found !== undefined) return found;
  return firstFailure ?? fail('CHAIN_UNTRUSTED', 'no path to a trust anchor verified by signatures');
}

/**
 * The issuers of `leaf` among `sent`, linked by signature (never by names alone), nearest first, up to the first
 * self-signed one or the first link that does not verify. For a TLS peer when no trust anchors are known here: a
 * certificate the client merely appended can then never appear as an issuer.
 */
export function signatureLinkedIssuers(
  leaf: TrustCertificate,
  sent: readonly TrustCertificate[],
  maxLength: number,
): string[] {
  const issuers: string[] = [];
  const used = new Set([leaf.parsed.fingerprint256]);
  let current = leaf;
  while (issuers.length < maxLength && !(current !== leaf && isSelfIssued(current))) {
    const next = sent.find(
      (candidate) =>
        !used.has(candidate.parsed.fingerprint256) &&
        issuerProblem(candidate.parsed, 'clientAuth', true) === undefined &&
        signed(candidate, current),
    );
    if (next === undefined) break;
    used.add(next.parsed.fingerprint256);
    issuers.push(next.parsed.fingerprint256);
    current = next;
  }
  return issuers;
}
