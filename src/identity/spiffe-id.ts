/**
 * SPIFFE ID and X509-SVID validation, per the SPIFFE specs:
 * https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md and
 * https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md
 */
import type { KeyUsage, SubjectAltNames } from './peer-identity.js';

// SPIFFE-ID §2.1: trust domain characters are lower-case letters, digits, '.', '-' and '_' only.
const trustDomainPattern = /^[a-z0-9._-]+$/;
// SPIFFE-ID §2.2: path segment characters are letters, digits, '.', '-' and '_' only (no percent-encoding).
const segmentPattern = /^[A-Za-z0-9._-]+$/;

/**
 * Whether `id` is a valid SPIFFE ID of a workload: `spiffe://<trust domain>/<path>` with a non-empty path.
 *
 * Rejects an upper-case scheme or trust domain, userinfo, port, query, fragment, percent-encoding, empty, `.` and
 * `..` segments, a trailing `/`, a trust domain over 255 bytes and an ID over 2048 bytes.
 */
export function isWorkloadSpiffeId(id: string): boolean {
  // SPIFFE-ID §2.3: at most 2048 bytes; the ID is ASCII, so characters = bytes.
  if (id.length > 2048 || !id.startsWith('spiffe://')) return false;
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  // X509-SVID §3: a leaf SVID's ID has a path; an ID without one names a trust domain, not a workload.
  if (slash <= 0) return false;
  const trustDomain = rest.slice(0, slash);
  if (trustDomain.length > 255 || !trustDomainPattern.test(trustDomain)) return false;
  const segments = rest.slice(slash + 1).split('/');
  return segments.every((segment) => segmentPattern.test(segment) && segment !== '.' && segment !== '..');
}

/** The fields of a certificate that decide whether it is an X509-SVID. */
export interface SvidCandidate {
  readonly san: SubjectAltNames;
  readonly isCA: boolean;
  readonly keyUsage: readonly KeyUsage[];
  readonly hasKeyUsageExtension: boolean;
}

/**
 * The SPIFFE ID of a leaf X509-SVID, or `undefined` when the certificate is not one: exactly one URI SAN (X509-SVID
 * §2: validators MUST reject more), a valid workload SPIFFE ID, not a CA, no keyCertSign/cRLSign, and
 * digitalSignature when the key usage extension is present (§4.3).
 */
export function svidSpiffeId(candidate: SvidCandidate): string | undefined {
  if (candidate.san.uri.length !== 1) return undefined;
  const uri = candidate.san.uri[0] as string;
  if (!isWorkloadSpiffeId(uri)) return undefined;
  // X509-SVID §4.1: a leaf SVID MUST NOT be a CA.
  if (candidate.isCA) return undefined;
  // X509-SVID §4.3: a leaf MUST NOT have keyCertSign or cRLSign, and MUST have digitalSignature.
  if (candidate.keyUsage.includes('keyCertSign') || candidate.keyUsage.includes('cRLSign')) return undefined;
  if (candidate.hasKeyUsageExtension && !candidate.keyUsage.includes('digitalSignature')) return undefined;
  return uri;
}
