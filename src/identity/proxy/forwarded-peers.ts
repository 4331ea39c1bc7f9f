/**
 * Turns a certificate forwarded by a trusted proxy into a {@link PeerIdentity} verified by the application
 * (`verifiedBy: 'app'`): parse, use checks (EKU, critical extensions), chain re-verification against the app's own
 * trust anchors, and a per-request validity window. Verification outcomes are cached in a bounded LRU.
 */
import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../../errors.js';
import { assertOptionsObject, isPlainObject, ownValue } from '../../options/validate.js';
import type { TrustCertificate } from '../../trust/path.js';
import { createTrustAt, type Trust, type TrustState, trustState } from '../../trust/trust.js';
import { BoundedCache } from '../bounded-cache.js';
import type { CertificateReader, ReadProblem } from '../certificate-reader.js';
import {
  type CertificateUseProblem,
  createIdentity,
  staticUseProblem,
  type VerifiedPeer,
  validityProblem,
} from '../create-identity.js';
import type { PeerIdentity, PeerSource } from '../peer-identity.js';
import { type VerifyProblem, verifyChain } from './verify-chain.js';

/**
 * How forwarded certificates are re-verified. Required as soon as a header source is configured.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import type { ForwardedVerificationOptions } from 'koa-mtls';
 *
 * const verify: ForwardedVerificationOptions = { ca: readFileSync('/etc/tls/client-ca.crt', 'utf8'), minRsaBits: 3072 };
 * ```
 */
export interface ForwardedVerificationOptions {
  /**
   * A trust made by `createTrust()` (shared with `mtlsOptions` and the TLS source): then no other field is allowed.
   */
  readonly trust?: Trust;
  /**
   * Trust anchors, PEM (one string may hold several certificates). Required without `trust`. Public CAs are never
   * implied. Only self-signed roots are anchors; other CA certificates act as known intermediates, as in OpenSSL.
   */
  readonly ca?: string | readonly string[];
  /** Intermediates the app knows, PEM; used like forwarded chain certificates (untrusted, must chain to `ca`). */
  readonly intermediates?: string | readonly string[];
  /**
   * CRLs, PEM (`X509 CRL`). Once any is given, every certificate below the anchor needs a current CRL from its
   * issuer, as OpenSSL does with Node's `crl` option. Default: none (no revocation check).
   */
  readonly crl?: string | readonly string[];
  /** Minimum RSA modulus in bits for every certificate of the path. Default 2048. */
  readonly minRsaBits?: number;
  /** Maximum number of issuers above the leaf (anchor included). Default 4. */
  readonly maxChainLength?: number;
}

/** Why a forwarded certificate is no peer. */
export type ForwardedProblem = ReadProblem | CertificateUseProblem | VerifyProblem | 'PROXY_CHAIN_EXPIRED';

export type ForwardedOutcome =
  | { readonly ok: true; readonly identity: PeerIdentity }
  | {
      readonly ok: false;
      readonly reason: ForwardedProblem;
      readonly identity?: PeerIdentity;
      readonly detail?: Readonly<Record<string, unknown>>;
    };

type CachedVerification =
  | VerifiedPeer
  | { readonly ok: false; readonly reason: ForwardedProblem; readonly detail?: Readonly<Record<string, unknown>> };

/**
 * Compiles the `verify` option into the trust engine's state; throws {@link InvalidOptionError} at startup. The
 * legacy form (`ca`, `intermediates`, `crl`, …) builds a private trust, so both forms verify exactly alike.
 */
export function compileVerification(value: unknown, path: string): TrustState {
  if (isPlainObject(value) && ownValue(value, 'trust') !== undefined) {
    assertOptionsObject(value, path, ['trust']);
    return trustState(ownValue(value, 'trust'), `${path}.trust`);
  }
  assertOptionsObject(value, path, ['ca', 'intermediates', 'crl', 'minRsaBits', 'maxChainLength']);
  const ca = ownValue(value, 'ca');
  if (ca === undefined) throw new InvalidOptionError(`${path}.ca`, 'is required (or give "trust")');
  for (const key of ['ca', 'intermediates', 'crl']) {
    const item = ownValue(value, key);
    if (
      item !== undefined &&
      typeof item !== 'string' &&
      !(Array.isArray(item) && item.every((pem) => typeof pem === 'string'))
    ) {
      throw new InvalidOptionError(`${path}.${key}`, 'must be a PEM string or a non-empty array of PEM strings');
    }
  }
  return trustState(createTrustAt(value as ForwardedVerificationOptions, path), path);
}

/** Resolves forwarded certificates into identities, with caching. */
export class ForwardedPeers {
  readonly #reader: CertificateReader;
  readonly #trust: TrustState;
  readonly #verified: BoundedCache<string, CachedVerification>;

  constructor(reader: CertificateReader, trust: TrustState, cacheSize: number) {
    this.#reader = reader;
    this.#trust = trust;
    this.#verified = new BoundedCache(cacheSize);
  }

  #verify(source: PeerSource, leafDer: Uint8Array, chainDers: readonly Uint8Array[], now: number): CachedVerification {
    const leaf = this.#reader.readLeafForPath(leafDer);
    if (typeof leaf === 'string') return { ok: false, reason: leaf };
    const problem = staticUseProblem(leaf.parsed);
    if (problem !== undefined)
      return { ok: false, reason: problem, detail: { fingerprint256: leaf.parsed.fingerprint256 } };
    const forwarded: TrustCertificate[] = [];
    for (const der of chainDers) {
      const certificate = this.#reader.readForPath(der);
      if (typeof certificate === 'string') return { ok: false, reason: certificate, detail: { in: 'chain' } };
      forwarded.push(certificate);
    }
    const verified = verifyChain(leaf.parsed, leaf, forwarded, this.#trust, now);
    if (!verified.ok) {
      return {
        ok: false,
        reason: verified.reason,
        detail: { fingerprint256: leaf.parsed.fingerprint256, problem: verified.problem },
      };
    }
    return {
      ok: true,
      certificate: leaf.parsed,
      identity: createIdentity(leaf.parsed, {
        source,
        verifiedBy: 'app',
        issuerChain: verified.path.issuerChain,
        spiffeId: verified.spiffeId,
      }),
      validFrom: verified.path.validFrom,
      validUntil: verified.path.validUntil,
    };
  }

  /** The identity of a forwarded certificate at time `now`. Never throws. */
  resolve(source: PeerSource, leaf: Uint8Array, chain: readonly Uint8Array[], now: number): ForwardedOutcome {
    const hash = createHash('sha256').update(`${source}:${this.#trust.generation}`);
    for (const der of [leaf, ...chain]) hash.update(createHash('sha256').update(der).digest());
    const key = hash.digest('hex');
    let verification = this.#verified.get(key);
    // Outside the cached path's window, path building runs again at this time (another path may be valid now).
    if (
      verification === undefined ||
      (verification.ok && (now < verification.validFrom || now >= verification.validUntil))
    ) {
      verification = this.#verify(source, leaf, chain, now);
      this.#verified.set(key, verification);
    }
    if (!verification.ok) return verification;
    const leafProblem = validityProblem(verification.identity, now);
    if (leafProblem !== undefined) return { ok: false, reason: leafProblem, identity: verification.identity };
    // An intermediate or a CRL of the path can expire before the leaf does.
    if (now < verification.validFrom || now >= verification.validUntil) {
      return { ok: false, reason: 'PROXY_CHAIN_EXPIRED', identity: verification.identity };
    }
    return { ok: true, identity: verification.identity };
  }
}
