/**
 * Parses certificates once each: a bounded LRU keyed by the SHA-256 of the DER holds the outcome (success or the
 * reason of failure), so a hostile certificate is not re-parsed on every connection either. OpenSSL's reading of a
 * sent issuer (for path building) lives as long as ours, so an issuer that every client sends is decoded once; a
 * leaf's is made for its verification only.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { TrustCertificate } from '../trust/path.js';
import { BoundedCache } from './bounded-cache.js';
import { type ParsedCertificate, parseCertificate } from './parse-certificate.js';
import { TooManySubjectAltNamesError } from './subject-alt-names.js';

/** Why a certificate could not be read. */
export type ReadProblem = 'PEER_CERTIFICATE_UNPARSABLE' | 'PEER_TOO_MANY_SANS';

/** The outcome of reading one certificate. */
export type ReadOutcome =
  | { readonly ok: true; readonly certificate: ParsedCertificate }
  | { readonly ok: false; readonly reason: ReadProblem; readonly detail: string };

/** OpenSSL's reading of a certificate ours accepted, or `null`: both parsers must agree it is one, or it is none. */
function openssl(parsed: ParsedCertificate): X509Certificate | null {
  try {
    return new X509Certificate(parsed.der);
  } catch {
    return null;
  }
}

/** Reads DER certificates through the cache. */
export class CertificateReader {
  readonly #cache: BoundedCache<string, ReadOutcome>;
  readonly #maxSubjectAltNames: number;
  // Keyed by the cached parse, so it is bounded by the same LRU; `null`: OpenSSL refused what our parser read.
  readonly #openssl = new WeakMap<ParsedCertificate, X509Certificate | null>();

  constructor(cacheSize: number, maxSubjectAltNames: number) {
    this.#cache = new BoundedCache(cacheSize);
    this.#maxSubjectAltNames = maxSubjectAltNames;
  }

  /** Reads `der`; never throws. */
  read(der: Uint8Array): ReadOutcome {
    const key = createHash('sha256').update(der).digest('hex');
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    let outcome: ReadOutcome;
    try {
      outcome = { ok: true, certificate: parseCertificate(der, { maxSubjectAltNames: this.#maxSubjectAltNames }) };
    } catch (error) {
      // Fail closed: whatever the parser cannot read exactly is no peer (and never a 500).
      const tooMany = error instanceof TooManySubjectAltNamesError;
      outcome = {
        ok: false,
        reason: tooMany ? 'PEER_TOO_MANY_SANS' : 'PEER_CERTIFICATE_UNPARSABLE',
        detail: error instanceof Error ? error.message : 'unreadable',
      };
    }
    this.#cache.set(key, Object.freeze(outcome));
    return outcome;
  }

  /**
   * Reads a sent issuer in both forms path building needs, ours and OpenSSL's, keeping OpenSSL's as long as ours (an
   * intermediate that every client sends is decoded once); never throws.
   */
  readForPath(der: Uint8Array): TrustCertificate | ReadProblem {
    const outcome = this.read(der);
    if (!outcome.ok) return outcome.reason;
    const parsed = outcome.certificate;
    let x509 = this.#openssl.get(parsed);
    if (x509 === undefined) {
      x509 = openssl(parsed);
      this.#openssl.set(parsed, x509);
    }
    return x509 === null ? 'PEER_CERTIFICATE_UNPARSABLE' : { x509, parsed };
  }

  /**
   * Reads a leaf in both forms for one verification, without keeping OpenSSL's: a verified leaf is then cached as a
   * peer for as long as it is used, and its OpenSSL copy would hold ~6 KB of native memory per cached peer.
   */
  readLeafForPath(der: Uint8Array): TrustCertificate | ReadProblem {
    const outcome = this.read(der);
    if (!outcome.ok) return outcome.reason;
    const parsed = outcome.certificate;
    const x509 = this.#openssl.get(parsed) ?? openssl(parsed);
    return x509 === null ? 'PEER_CERTIFICATE_UNPARSABLE' : { x509, parsed };
  }

  /** Number of cached outcomes (for tests and metrics). */
  get cacheSize(): number {
    return this.#cache.size;
  }
}
