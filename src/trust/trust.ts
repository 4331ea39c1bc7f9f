/**
 * `createTrust()`: the trust anchors (optionally one bundle per SPIFFE trust domain), CRLs and path rules that
 * `mtlsOptions`, `watchCertificates` and `peerCertificate` (TLS and forwarded) share. It loads and validates
 * everything once, answers "which anchor vouched for this leaf, by which path verified by signatures", caches that
 * answer per (leaf, sent chain, generation), and bumps its generation on every successful update.
 *
 * @module trust
 */
import { createHash, X509Certificate } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';
import { BoundedCache } from '../identity/bounded-cache.js';
import { parseCertificate } from '../identity/parse-certificate.js';
import { assertOptionsObject, isPlainObject, optionalInteger, ownValue } from '../options/validate.js';
import { signatureVerdict } from './algorithms.js';
import { type ParsedCrl, parseCrl } from './crl.js';
import type { Anchor, PathOutcome, PathPurpose, TrustCertificate } from './path.js';
import { verifyPath, withinWindow } from './path.js';
import { fileSource, inlineSource, type PemSource, pemBlocks } from './pem.js';

/**
 * PEM given inline (text or bytes), or the path of a PEM file (`{ file: '/etc/tls/ca.crt' }`), re-read on reload.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { createTrust, type TrustSource } from 'koa-mtls';
 *
 * // A file re-read on reload, and bytes read once:
 * const ca: TrustSource[] = [{ file: '/etc/tls/ca.crt' }, readFileSync('/etc/tls/legacy-ca.crt')];
 * const trust = createTrust({ ca });
 * ```
 */
export type TrustSource = string | Uint8Array | { readonly file: string };

/**
 * Input of {@link createTrust}. At least one anchor (in `ca` or in a trust-domain bundle) is required.
 *
 * @example
 * ```ts
 * import { createTrust, type TrustOptions } from 'koa-mtls';
 *
 * const options: TrustOptions = {
 *   trustDomains: { 'example.org': { file: '/run/spire/bundle.pem' } },
 *   crl: { file: '/etc/tls/ca.crl' },
 * };
 * const trust = createTrust(options);
 * ```
 */
export interface TrustOptions {
  /** Anchors not tied to a SPIFFE trust domain: they vouch for everything but SPIFFE IDs once `trustDomains` is set. */
  readonly ca?: TrustSource | readonly TrustSource[];
  /**
   * One bundle per SPIFFE trust domain (`{ 'example.org': bundle }`): a SPIFFE ID of a domain is believed only when
   * the verified path ends at that domain's bundle (SPIFFE Federation §7.3).
   */
  readonly trustDomains?: Readonly<Record<string, TrustSource | readonly TrustSource[]>>;
  /**
   * CRLs, PEM. Once any is given, every certificate below the anchor needs a current CRL from its issuer, as OpenSSL
   * does with Node's `crl` option.
   */
  readonly crl?: TrustSource | readonly TrustSource[];
  /** Intermediates the application knows; untrusted, used like the ones a peer sends. */
  readonly intermediates?: TrustSource | readonly TrustSource[];
  /** Minimum RSA modulus in bits for every certificate of a path. Default 2048. */
  readonly minRsaBits?: number;
  /** Maximum number of issuers above the leaf, the anchor included, 1–8. Default 4. */
  readonly maxChainLength?: number;
  /** Verified paths kept, LRU, 0–1 000 000. Default 1000. */
  readonly cacheSize?: number;
}

/**
 * A shared trust configuration. Pass the same object to `mtlsOptions({ trust })` and `peerCertificate({ trust })`.
 *
 * @example
 * ```ts
 * import { createTrust, type Trust } from 'koa-mtls';
 *
 * const trust: Trust = createTrust({ ca: { file: '/etc/tls/ca.crt' } });
 * trust.onChange((changed) => log.info({ generation: changed.generation }, 'trust anchors changed'));
 * process.on('SIGHUP', () => trust.reload());
 * ```
 */
export interface Trust {
  /** Bumped on every successful {@link Trust.update} or {@link Trust.reload} that changed something. */
  readonly generation: number;
  /** Every anchor PEM (the union of `ca` and all trust-domain bundles): what OpenSSL's `ca` option gets. */
  readonly caPems: readonly string[];
  /** Every CRL PEM, one per element (Node's `addCRL` reads one CRL per string). */
  readonly crlPems: readonly string[];
  /** The SPIFFE trust domains that have a bundle, sorted. */
  readonly trustDomainNames: readonly string[];
  /** The files this trust reads (for watchers), absolute as given. */
  readonly files: readonly string[];
  /** Replaces the given fields after validating everything; on error throws and keeps the old state. */
  update(next: Partial<TrustOptions>): void;
  /** Re-reads the files; returns whether anything changed. On error throws and keeps the old state. */
  reload(): boolean;
  /** Calls `listener` after each change; returns the unsubscribe function. */
  onChange(listener: (trust: Trust) => void): () => void;
}

const KNOWN_KEYS = ['ca', 'trustDomains', 'crl', 'intermediates', 'minRsaBits', 'maxChainLength', 'cacheSize'] as const;

// SPIFFE-ID §2.1: a trust domain name is lower-case letters, digits, '.', '-' and '_'.
const trustDomainPattern = /^[a-z0-9._-]{1,255}$/;

/** What a verification needs, compiled from the options; replaced whole on update. */
interface Compiled {
  readonly options: TrustOptions;
  readonly anchors: readonly Anchor[];
  readonly intermediates: readonly TrustCertificate[];
  readonly crls: readonly ParsedCrl[];
  readonly caPems: readonly string[];
  readonly crlPems: readonly string[];
  readonly trustDomainNames: readonly string[];
  readonly files: readonly string[];
  readonly minRsaBits: number;
  readonly maxChainLength: number;
  readonly cacheSize: number;
  /** SHA-256 over everything that changes a verdict: equal digests, equal trust. */
  readonly digest: string;
}

/** One PEM input and the option path that names it in errors (`createTrust.ca[1]`). */
interface Located {
  readonly source: PemSource;
  readonly where: string;
}

function sourceList(value: unknown, path: string): Located[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) throw new InvalidOptionError(path, 'must not be an empty array');
  return items.map((item, index) => {
    const where = `${path}[${index}]`;
    if (typeof item === 'string' || item instanceof Uint8Array) return { source: inlineSource(where, item), where };
    if (isPlainObject(item) && typeof item.file === 'string' && Object.keys(item).length === 1) {
      return { source: fileSource(where, item.file), where };
    }
    throw new InvalidOptionError(where, 'must be PEM text, bytes, or { file: "/path/to/bundle.pem" }');
  });
}

function blocksOf({ source, where }: Located, type: string): { der: Buffer; pem: string }[] {
  const blocks = pemBlocks(source.text);
  const wanted = blocks.filter((block) => block.type === type);
  // Anything else in a bundle (a key, a CSR) is a mistake that would otherwise be ignored silently.
  if (wanted.length === 0 || wanted.length !== blocks.length) {
    throw new InvalidOptionError(where, `must hold only PEM "${type}" blocks (${source.label})`);
  }
  return wanted;
}

/** Reads one DER certificate into both forms. Throws on anything either parser refuses. */
export function readTrustCertificate(der: Uint8Array): TrustCertificate {
  const parsed = parseCertificate(der, { maxSubjectAltNames: 1024 });
  // Our parser and OpenSSL must agree that this is a certificate; if OpenSSL refuses it, so do we.
  return { x509: new X509Certificate(parsed.der), parsed };
}

function certificates(sources: readonly Located[]): { certificate: TrustCertificate; pem: string; where: string }[] {
  return sources.flatMap((located) =>
    blocksOf(located, 'CERTIFICATE').map((block, index) => {
      try {
        return { certificate: readTrustCertificate(block.der), pem: block.pem, where: located.where };
      } catch (error) {
        throw new InvalidOptionError(
          located.where,
          `certificate ${index + 1} cannot be parsed (${(error as Error).message})`,
        );
      }
    }),
  );
}

/**
 * Whether OpenSSL would take `certificate` as a trust anchor: self-signed by its own check (names, AKI against its
 * own SKI/issuer/serial) and its own key. Other CA certificates of a bundle are usable as known intermediates only,
 * as OpenSSL without partial chains uses them.
 */
function isSelfSigned(certificate: TrustCertificate): boolean {
  try {
    return certificate.x509.checkIssued(certificate.x509) && certificate.x509.verify(certificate.x509.publicKey);
  } catch {
    return false;
  }
}

interface Bundle {
  readonly anchors: { anchor: Anchor; pem: string }[];
  readonly intermediates: TrustCertificate[];
}

function bundleOf(sources: readonly Located[], path: string, trustDomain: string | undefined): Bundle {
  const bundle: Bundle = { anchors: [], intermediates: [] };
  for (const { certificate, pem, where } of certificates(sources)) {
    const parsed = certificate.parsed;
    // RFC 5280 §4.2.1.9/§4.2.1.3: a certificate that is not a CA could never have issued a path.
    if (!parsed.isCA || (parsed.hasKeyUsage && !parsed.keyUsage.includes('keyCertSign'))) {
      throw new InvalidOptionError(where, `holds ${parsed.subject.toString() || 'a certificate'}, which is not a CA`);
    }
    if (isSelfSigned(certificate)) bundle.anchors.push({ anchor: Object.freeze({ certificate, trustDomain }), pem });
    else bundle.intermediates.push(certificate);
  }
  // Without partial chains (mtlsOptions refuses them) only a self-signed root ends a path.
  if (sources.length > 0 && bundle.anchors.length === 0) {
    throw new InvalidOptionError(
      path,
      'holds no self-signed root CA; add the root that issued your client certificates',
    );
  }
  return bundle;
}

function crlsOf(sources: readonly Located[]): { crl: ParsedCrl; pem: string; der: Buffer }[] {
  return sources.flatMap((located) =>
    blocksOf(located, 'X509 CRL').map((block, index) => {
      const { where } = located;
      let crl: ParsedCrl;
      try {
        crl = parseCrl(block.der);
      } catch (error) {
        throw new InvalidOptionError(where, `CRL ${index + 1} is unusable (${(error as Error).message})`);
      }
      const verdict = signatureVerdict(crl.signatureAlgorithm);
      // A CRL we could never verify would leave its CA's clients denied forever: refuse it at startup instead.
      if (!verdict.ok) throw new InvalidOptionError(where, `CRL ${index + 1} is signed with ${verdict.name}`);
      return { crl, pem: block.pem, der: block.der };
    }),
  );
}

function compile(options: unknown, at: string): Compiled {
  assertOptionsObject(options, at, KNOWN_KEYS);
  const caSources = sourceList(ownValue(options, 'ca'), `${at}.ca`);
  const caBundle = bundleOf(caSources, `${at}.ca`, undefined);
  const anchors = [...caBundle.anchors];
  const bundled = [...caBundle.intermediates];
  const pems = caSources.flatMap((located) => blocksOf(located, 'CERTIFICATE').map((block) => block.pem));
  const domainsValue = ownValue(options, 'trustDomains');
  const domainSources: Located[] = [];
  const domainNames: string[] = [];
  if (domainsValue !== undefined) {
    if (!isPlainObject(domainsValue) || Object.keys(domainsValue).length === 0) {
      throw new InvalidOptionError(`${at}.trustDomains`, 'must be a non-empty object { "example.org": bundle }');
    }
    for (const [name, value] of Object.entries(domainsValue)) {
      const path = `${at}.trustDomains["${name}"]`;
      if (!trustDomainPattern.test(name)) {
        throw new InvalidOptionError(
          path,
          'is not a SPIFFE trust domain name (lower-case letters, digits, ".", "-", "_")',
        );
      }
      const sources = sourceList(value, path);
      if (sources.length === 0) throw new InvalidOptionError(path, 'needs a bundle');
      domainSources.push(...sources);
      domainNames.push(name);
      const bundle = bundleOf(sources, path, name);
      anchors.push(...bundle.anchors);
      bundled.push(...bundle.intermediates);
      pems.push(...sources.flatMap((located) => blocksOf(located, 'CERTIFICATE').map((block) => block.pem)));
    }
  }
  if (anchors.length === 0) {
    throw new InvalidOptionError(`${at}.ca`, 'is required: give "ca" or "trustDomains" (public CAs are never implied)');
  }
  const intermediateSources = sourceList(ownValue(options, 'intermediates'), `${at}.intermediates`);
  const intermediates = [...bundled, ...certificates(intermediateSources).map((item) => item.certificate)];
  const crlSources = sourceList(ownValue(options, 'crl'), `${at}.crl`);
  const crls = crlsOf(crlSources);
  const minRsaBits = optionalInteger(options, 'minRsaBits', at, 1024, 16384) ?? 2048;
  const maxChainLength = optionalInteger(options, 'maxChainLength', at, 1, 8) ?? 4;
  const cacheSize = optionalInteger(options, 'cacheSize', at, 0, 1_000_000) ?? 1000;
  const digest = createHash('sha256');
  for (const { anchor } of anchors)
    digest.update(`${anchor.trustDomain ?? ''}:${anchor.certificate.parsed.fingerprint256};`);
  for (const certificate of intermediates) digest.update(`i:${certificate.parsed.fingerprint256};`);
  for (const { der } of crls) digest.update(`c:${createHash('sha256').update(der).digest('hex')};`);
  digest.update(`${minRsaBits}:${maxChainLength}`);
  const uniquePems = [...new Set(pems)];
  const all = [...caSources, ...domainSources, ...intermediateSources, ...crlSources];
  return Object.freeze({
    options: options as TrustOptions,
    anchors: Object.freeze(anchors.map(({ anchor }) => anchor)),
    intermediates: Object.freeze(intermediates),
    crls: Object.freeze(crls.map(({ crl }) => crl)),
    caPems: Object.freeze(uniquePems),
    crlPems: Object.freeze(crls.map(({ pem }) => `${pem}\n`)),
    trustDomainNames: Object.freeze(domainNames.sort()),
    files: Object.freeze([...new Set(all.flatMap(({ source }) => (source.file === undefined ? [] : [source.file])))]),
    minRsaBits,
    maxChainLength,
    cacheSize,
    digest: digest.digest('hex'),
  });
}

/** What {@link TrustState.verify} answers: the path outcome, and whether a SPIFFE ID may be believed. */
export interface TrustVerdict {
  readonly outcome: PathOutcome;
  /** With trust domains: true only when the path ends at the bundle of the leaf's own SPIFFE trust domain. */
  readonly spiffeVouched: boolean;
}

/** The internal side of a {@link Trust}: what koa-mtls modules use, not part of the public object. */
export interface TrustState {
  readonly generation: number;
  readonly maxChainLength: number;
  /** Reads a DER certificate through a bounded cache keyed by its SHA-256; throws when unreadable. */
  certificate(der: Uint8Array): TrustCertificate;
  /** Verifies `leaf` with `sent` as untrusted intermediates for `purpose`, cached per (leaf, sent, generation). */
  verify(
    leaf: TrustCertificate,
    sent: readonly TrustCertificate[],
    time: number,
    spiffeId: string | undefined,
    purpose?: PathPurpose,
  ): TrustVerdict;
}

const states = new WeakMap<Trust, TrustState>();

/** The internal state of a trust made by {@link createTrust}; throws for anything else. */
export function trustState(trust: unknown, path: string): TrustState {
  const state = typeof trust === 'object' && trust !== null ? states.get(trust as Trust) : undefined;
  if (state === undefined) throw new InvalidOptionError(path, 'must be a trust object made by createTrust()');
  return state;
}

function spiffeDomain(spiffeId: string | undefined): string | undefined {
  if (spiffeId === undefined) return undefined;
  const rest = spiffeId.slice('spiffe://'.length);
  return rest.slice(0, rest.indexOf('/'));
}

/**
 * Creates a trust object: validates every anchor, bundle and CRL now (throws {@link InvalidOptionError} naming the
 * option and the fix), and keeps files for {@link Trust.reload}.
 *
 * Verification (used by `peerCertificate`) builds a path by signature from the leaf through the certificates the
 * peer sent (or a proxy forwarded) and `intermediates` to an anchor, and enforces RFC 5280 for client
 * authentication at least as strictly as OpenSSL's `-purpose sslclient`. See docs/trust.md.
 *
 * @example
 * ```ts
 * import https from 'node:https';
 * import { readFileSync } from 'node:fs';
 * import { createTrust, mtlsOptions, peerCertificate } from 'koa-mtls';
 *
 * const trust = createTrust({
 *   ca: { file: '/etc/tls/corp-ca.crt' },
 *   trustDomains: { 'example.org': { file: '/run/spire/bundle.pem' }, 'partner.com': readFileSync('partner-bundle.pem') },
 * });
 * const server = https.createServer(mtlsOptions({ keyFile: 'tls.key', certFile: 'tls.crt', trust }), app.callback());
 * app.use(peerCertificate({ trust }));
 * ```
 */
export function createTrust(options: TrustOptions): Trust {
  return createTrustAt(options, 'createTrust');
}

/** {@link createTrust}, with option errors named under `at` (e.g. `peerCertificate.verify`). */
export function createTrustAt(options: TrustOptions, at: string): Trust {
  let compiled = compile(options, at);
  let generation = 1;
  const listeners = new Set<(trust: Trust) => void>();
  let paths = new BoundedCache<string, TrustVerdict>(compiled.cacheSize);
  const parsed = new BoundedCache<string, TrustCertificate>(Math.max(compiled.cacheSize, 16));

  const apply = (next: Compiled): boolean => {
    const changed = next.digest !== compiled.digest || next.caPems.join() !== compiled.caPems.join();
    compiled = next;
    if (!changed) return false;
    generation += 1;
    paths = new BoundedCache(next.cacheSize);
    for (const listener of listeners) {
      try {
        listener(trust);
      } catch (error) {
        // One listener's failure must not keep the others on the old trust; it is reported, not swallowed.
        process.emitWarning(`createTrust listener failed: ${(error as Error).message}`, { type: 'KoaMtlsWarning' });
      }
    }
    return true;
  };

  const trust: Trust = Object.freeze({
    get generation() {
      return generation;
    },
    get caPems() {
      return compiled.caPems;
    },
    get crlPems() {
      return compiled.crlPems;
    },
    get trustDomainNames() {
      return compiled.trustDomainNames;
    },
    get files() {
      return compiled.files;
    },
    update(next: Partial<TrustOptions>): void {
      assertOptionsObject(next, 'trust.update', KNOWN_KEYS);
      apply(compile({ ...compiled.options, ...next }, at));
    },
    reload(): boolean {
      return apply(compile(compiled.options, at));
    },
    onChange(listener: (trust: Trust) => void): () => void {
      if (typeof listener !== 'function') throw new InvalidOptionError('trust.onChange', 'needs a function');
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });

  const state: TrustState = {
    get generation() {
      return generation;
    },
    get maxChainLength() {
      return compiled.maxChainLength;
    },
    certificate(der: Uint8Array): TrustCertificate {
      const key = createHash('sha256').update(der).digest('hex');
      const known = parsed.get(key);
      if (known !== undefined) return known;
      const certificate = readTrustCertificate(der);
      parsed.set(key, certificate);
      return certificate;
    },
    verify(leaf, sent, time, spiffeId, purpose = 'clientAuth'): TrustVerdict {
      const hash = createHash('sha256').update(`${generation}:${purpose}:${leaf.parsed.fingerprint256}`);
      for (const certificate of sent) hash.update(certificate.parsed.fingerprint256);
      const key = hash.digest('hex');
      const cached = paths.get(key);
      // A cached path is reused while its window holds; outside it, path building runs again at this time.
      if (cached !== undefined && (!cached.outcome.ok || withinWindow(cached.outcome.path, time))) return cached;
      const domain = spiffeDomain(spiffeId);
      const ordered =
        domain === undefined
          ? compiled.anchors
          : [
              ...compiled.anchors.filter((anchor) => anchor.trustDomain === domain),
              ...compiled.anchors.filter((anchor) => anchor.trustDomain !== domain),
            ];
      const outcome = verifyPath(
        leaf,
        [...sent, ...compiled.intermediates],
        {
          anchors: ordered,
          crls: compiled.crls,
          minRsaBits: compiled.minRsaBits,
          maxChainLength: compiled.maxChainLength,
          purpose,
        },
        time,
      );
      // SPIFFE Federation §7.3: an SVID is validated against its own trust domain's bundle only.
      const spiffeVouched =
        outcome.ok &&
        domain !== undefined &&
        (compiled.trustDomainNames.length === 0 || outcome.path.anchor.trustDomain === domain);
      const verdict = Object.freeze({ outcome, spiffeVouched });
      paths.set(key, verdict);
      return verdict;
    },
  };
  states.set(trust, state);
  return trust;
}
