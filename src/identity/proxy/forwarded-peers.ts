/**
 * Turns a certificate forwarded by a trusted proxy into a {@link PeerIdentity} verified by the application
 * (`verifiedBy: 'app'`): parse, use checks (EKU, critical extensions), chain re-verification against the app's own
 * trust anchors, and a per-request validity window. Verification outcomes are cached in a bounded LRU.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { InvalidOptionError } from '../../errors.js';
import { assertOptionsObject, optionalInteger, ownValue } from '../../options/validate.js';
import { signatureVerdict } from '../../trust/algorithms.js';
import { BoundedCache } from '../bounded-cache.js';
import type { CertificateReader, ReadProblem } from '../certificate-reader.js';
import { type CertificateUseProblem, createIdentity, staticUseProblem, validityProblem } from '../create-identity.js';
import { type ParsedCrl, parseCrl } from '../../trust/crl.js';
import type { ParsedCertificate } from '../parse-certificate.js';
import type { PeerIdentity, PeerSource } from '../peer-identity.js';
import { decodeBase64, decodePemCertificates } from './certificate-encodings.js';
import { type ChainCertificate, type TrustConfiguration, type VerifyProblem, verifyChain } from './verify-chain.js';

/**
 * How forwarded certificates are re-verified. Required as soon as a header source is configured.
 */
export interface ForwardedVerificationOptions {
  /** Trust anchors, PEM (one string may hold several certificates). Required. Public CAs are never implied. */
  readonly ca: string | readonly string[];
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
  | {
      readonly ok: true;
      readonly certificate: ParsedCertificate;
      readonly identity: PeerIdentity;
      readonly validFrom: number;
      readonly validUntil: number;
    }
  | { readonly ok: false; readonly reason: ForwardedProblem; readonly detail?: Readonly<Record<string, unknown>> };

function pemList(value: unknown, path: string, required: boolean): string[] {
  if (value === undefined && !required) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string')) {
    throw new InvalidOptionError(path, 'must be a PEM string or a non-empty array of PEM strings');
  }
  return list as string[];
}

function chainCertificate(der: Uint8Array, reader: CertificateReader): ChainCertificate | ReadProblem {
  const outcome = reader.read(der);
  if (!outcome.ok) return outcome.reason;
  try {
    return { x509: new X509Certificate(outcome.certificate.der), parsed: outcome.certificate };
  } catch {
    // Our parser and OpenSSL must agree that this is a certificate; if OpenSSL refuses it, so do we.
    return 'PEER_CERTIFICATE_UNPARSABLE';
  }
}

function trustCertificates(pems: readonly string[], path: string, reader: CertificateReader): ChainCertificate[] {
  return pems.flatMap((pem, index) => {
    let ders: Uint8Array[];
    try {
      ders = decodePemCertificates(pem, 1000);
    } catch {
      throw new InvalidOptionError(`${path}[${index}]`, 'is not PEM certificate text');
    }
    return ders.map((der) => {
      const certificate = chainCertificate(der, reader);
      if (typeof certificate === 'string') {
        throw new InvalidOptionError(`${path}[${index}]`, 'holds a certificate that cannot be parsed');
      }
      return certificate;
    });
  });
}

const crlBlock = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]*?)-----END X509 CRL-----/g;

function crls(pems: readonly string[], path: string): ParsedCrl[] {
  return pems.flatMap((pem, index) => {
    const blocks = [...pem.matchAll(crlBlock)];
    if (blocks.length === 0) throw new InvalidOptionError(`${path}[${index}]`, 'is not PEM "X509 CRL" text');
    return blocks.map((block) => {
      let crl: ParsedCrl;
      try {
        crl = parseCrl(decodeBase64((block[1] as string).replace(/\s+/g, '')));
      } catch (error) {
        throw new InvalidOptionError(`${path}[${index}]`, `holds an unusable CRL (${(error as Error).message})`);
      }
      const verdict = signatureVerdict(crl.signatureAlgorithm);
      // A CRL we could never verify would leave its CA's clients denied forever: refuse it at startup instead
      if (!verdict.ok) throw new InvalidOptionError(`${path}[${index}]`, `holds a CRL signed with ${verdict.name}`);
      return crl;
    });
  });
}

/** Compiles the `verify` option; throws {@link InvalidOptionError} at startup. */
export function compileVerification(value: unknown, path: string, reader: CertificateReader): TrustConfiguration {
  assertOptionsObject(value, path, ['ca', 'intermediates', 'crl', 'minRsaBits', 'maxChainLength']);
  const anchors = trustCertificates(pemList(ownValue(value, 'ca'), `${path}.ca`, true), `${path}.ca`, reader);
  const intermediates = trustCertificates(
    pemList(ownValue(value, 'intermediates'), `${path}.intermediates`, false),
    `${path}.intermediates`,
    reader,
  );
  return Object.freeze({
    anchors: Object.freeze(anchors),
    intermediates: Object.freeze(intermediates),
    crls: Object.freeze(crls(pemList(ownValue(value, 'crl'), `${path}.crl`, false), `${path}.crl`)),
    minRsaBits: optionalInteger(value, 'minRsaBits', path, 1024, 16384) ?? 2048,
    maxChainLength: optionalInteger(value, 'maxChainLength', path, 1, 8) ?? 4,
  });
}

/** Resolves forwarded certificates into identities, with caching. */
export class ForwardedPeers {
  readonly #reader: CertificateReader;
  readonly #trust: TrustConfiguration;
  readonly #verified: BoundedCache<string, CachedVerification>;

  constructor(reader: CertificateReader, trust: TrustConfiguration, cacheSize: number) {
    this.#reader = reader;
    this.#trust = trust;
    this.#verified = new BoundedCache(cacheSize);
  }

  #verify(source: PeerSource, leafDer: Uint8Array, chainDers: readonly Uint8Array[]): CachedVerification {
    const leaf = chainCertificate(leafDer, this.#reader);
    if (typeof leaf === 'string') return { ok: false, reason: leaf };
    const problem = staticUseProblem(leaf.parsed);
    if (problem !== undefined)
      return { ok: false, reason: problem, detail: { fingerprint256: leaf.parsed.fingerprint256 } };
    const forwarded: ChainCertificate[] = [];
    for (const der of chainDers) {
      const certificate = chainCertificate(der, this.#reader);
      if (typeof certificate === 'string') return { ok: false, reason: certificate, detail: { in: 'chain' } };
      forwarded.push(certificate);
    }
    const verified = verifyChain(leaf, forwarded, this.#trust);
    if (!verified.ok) {
      return { ok: false, reason: verified.reason, detail: { fingerprint256: leaf.parsed.fingerprint256 } };
    }
    return {
      ok: true,
      certificate: leaf.parsed,
      identity: createIdentity(leaf.parsed, { source, verifiedBy: 'app', issuerChain: verified.path.issuerChain }),
      validFrom: verified.path.validFrom,
      validUntil: verified.path.validUntil,
    };
  }

  /** The identity of a forwarded certificate at time `now`. Never throws. */
  resolve(source: PeerSource, leaf: Uint8Array, chain: readonly Uint8Array[], now: number): ForwardedOutcome {
    const hash = createHash('sha256').update(source);
    for (const der of [leaf, ...chain]) hash.update(createHash('sha256').update(der).digest());
    const key = hash.digest('hex');
    let verification = this.#verified.get(key);
    if (verification === undefined) {
      verification = this.#verify(source, leaf, chain);
      this.#verified.set(key, verification);
    }
    if (!verification.ok) return verification;
    const leafProblem = validityProblem(verification.certificate, now);
    if (leafProblem !== undefined) return { ok: false, reason: leafProblem, identity: verification.identity };
    // An intermediate or a CRL of the path can expire before the leaf does.
    if (now < verification.validFrom || now > verification.validUntil) {
      return { ok: false, reason: 'PROXY_CHAIN_EXPIRED', identity: verification.identity };
    }
    return { ok: true, identity: verification.identity };
  }
}
