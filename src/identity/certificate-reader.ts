/**
 * Parses certificates once each: a bounded LRU keyed by the SHA-256 of the DER holds the outcome (success or the
 * reason of failure), so a hostile certificate is not re-parsed on every connection either.
 */
import { createHash } from 'node:crypto';
import { BoundedCache } from './bounded-cache.js';
import { type ParsedCertificate, parseCertificate } from './parse-certificate.js';
import { TooManySubjectAltNamesError } from './subject-alt-names.js';

/** Why a certificate could not be read. */
export type ReadProblem = 'PEER_CERTIFICATE_UNPARSABLE' | 'PEER_TOO_MANY_SANS';

/** The outcome of reading one certificate. */
export type ReadOutcome =
  | { readonly ok: true; readonly certificate: ParsedCertificate }
  | { readonly ok: false; readonly reason: ReadProblem; readonly detail: string };

/** Reads DER certificates through the cache. */
export class CertificateReader {
  readonly #cache: BoundedCache<string, ReadOutcome>;
  readonly #maxSubjectAltNames: number;

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

  /** Number of cached outcomes (for tests and metrics). */
  get cacheSize(): number {
    return this.#cache.size;
  }
}
