/**
 * Certificate sources besides the TLS socket: the headers through which Envoy/Istio (XFCC), RFC 9440 proxies
 * (`Client-Cert`, `Client-Cert-Chain`), nginx (`$ssl_client_escaped_cert`), HAProxy and Caddy forward the client
 * certificate. Compiled once at startup; extraction only decodes — trust and verification happen elsewhere.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { InvalidOptionError } from '../../errors.js';
import {
  assertOptionsObject,
  isPlainObject,
  optionalBoolean,
  optionalChoice,
  optionalInteger,
  optionalString,
} from '../../options/validate.js';
import { BoundedCache } from '../bounded-cache.js';
import { type ParsedCertificate, parseCertificate } from '../parse-certificate.js';
import type { PeerSource } from '../peer-identity.js';
import {
  type CertificateEncoding,
  decodeCertificate,
  decodePemCertificates,
  MalformedHeaderError,
  urlDecode,
} from './certificate-encodings.js';
import type { Claims } from './claimed-identity.js';
import { parseByteSequenceItem, parseByteSequenceList } from './structured-field.js';
import { parseXfcc, selectElement, singleValue, type XfccElement } from './xfcc.js';

/**
 * The TLS connection's own peer certificate (verified by the handshake).
 *
 * @example
 * ```ts
 * import type { PeerCertificateSource, TlsSource } from 'koa-mtls';
 *
 * const tls: TlsSource = { type: 'tls' }; // the same as 'tls'
 * const sources: PeerCertificateSource[] = [tls, 'xfcc'];
 * ```
 */
export interface TlsSource {
  readonly type: 'tls';
}

/**
 * Envoy/Istio `x-forwarded-client-cert`.
 *
 * @example
 * ```ts
 * import type { XfccSource } from 'koa-mtls';
 *
 * // An edge Envoy and a sidecar each append an element; the client's is second from the right.
 * const xfcc: XfccSource = { type: 'xfcc', hops: 2 };
 * ```
 */
export interface XfccSource {
  readonly type: 'xfcc';
  /** Header name. Default `x-forwarded-client-cert`. */
  readonly header?: string;
  /**
   * How many trusted proxies append an XFCC element; the element used is this many from the right (the rightmost
   * is added by the nearest proxy). Default 1: the nearest proxy terminated the client's TLS.
   */
  readonly hops?: number;
  /**
   * Accept an element without `Cert` from its claimed `Subject`/`URI`/`DNS`/`Hash` fields, as an identity marked
   * `verifiedBy: 'proxy-claimed'` (never re-verified; authorization rejects it unless a policy opts in).
   * An element *with* `Cert` always uses the certificate. Default false.
   */
  readonly allowClaimedIdentity?: boolean;
}

/**
 * RFC 9440 `Client-Cert` / `Client-Cert-Chain` (Google Cloud LB, Cloudflare, Keycloak's `rfc9440` provider).
 *
 * @example
 * ```ts
 * import type { ClientCertSource } from 'koa-mtls';
 *
 * // RFC 9440 headers under the names a load balancer was configured with:
 * const source: ClientCertSource = { type: 'client-cert', header: 'x-client-cert', chainHeader: 'x-client-cert-chain' };
 * ```
 */
export interface ClientCertSource {
  readonly type: 'client-cert';
  /** Default `client-cert`. */
  readonly header?: string;
  /** Default `client-cert-chain`. */
  readonly chainHeader?: string;
}

/**
 * nginx `proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;` (URL-encoded PEM).
 *
 * @example
 * ```ts
 * import type { NginxSource } from 'koa-mtls';
 *
 * // nginx: proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
 * const nginx: NginxSource = { type: 'nginx' };
 * ```
 */
export interface NginxSource {
  readonly type: 'nginx';
  /** Default `x-ssl-client-cert`. */
  readonly header?: string;
}

/**
 * Any header holding one certificate: HAProxy (`%[ssl_c_der,base64]`), Caddy, Traefik, Apache.
 *
 * @example
 * ```ts
 * import type { HeaderSource } from 'koa-mtls';
 *
 * // Caddy: header_up X-Client-Cert-Der {http.request.tls.client.certificate_der_base64}
 * const caddy: HeaderSource = { type: 'header', header: 'x-client-cert-der', encoding: 'base64-der' };
 * ```
 */
export interface HeaderSource {
  readonly type: 'header';
  /** Header name (required). */
  readonly header: string;
  /** `base64-der` (HAProxy, Caddy `certificate_der_base64`, Traefik ≥ 2.9.4), `pem` (line breaks may be spaces), `url-pem`. */
  readonly encoding: CertificateEncoding;
}

/**
 * One entry of `sources`: an object, or the name of a type whose options all have defaults.
 *
 * @example
 * ```ts
 * import type { PeerCertificateSource } from 'koa-mtls';
 *
 * // Direct clients on the socket, and clients forwarded by nginx:
 * const sources: PeerCertificateSource[] = ['tls', { type: 'nginx', header: 'x-ssl-client-cert' }];
 * ```
 */
export type PeerCertificateSource =
  | 'tls'
  | 'xfcc'
  | 'client-cert'
  | 'nginx'
  | TlsSource
  | XfccSource
  | ClientCertSource
  | NginxSource
  | HeaderSource;

/** The `type` of a header source. */
export type HeaderSourceType = 'xfcc' | 'client-cert' | 'nginx' | 'header';

/** What a header source found. */
export type Extraction =
  | { readonly kind: 'absent' }
  | { readonly kind: 'certificate'; readonly leaf: Uint8Array; readonly chain: readonly Uint8Array[] }
  | { readonly kind: 'claimed'; readonly claims: Claims }
  | { readonly kind: 'invalid'; readonly reason: ExtractionProblem; readonly detail: string };

/** Why a present header yielded no certificate. */
export type ExtractionProblem =
  | 'PROXY_HEADER_MALFORMED'
  | 'PROXY_HEADER_TOO_LARGE'
  | 'PROXY_HASH_MISMATCH'
  | 'PROXY_CERTIFICATE_MISSING';

/** Bounds shared by every header source. */
export interface HeaderLimits {
  readonly maxHeaderBytes: number;
  /** Maximum certificates in a forwarded chain (leaf excluded). */
  readonly maxChainCertificates: number;
  /** Decoded header values remembered per source (LRU keyed by the values), 0 disables. */
  readonly cacheSize: number;
}

/** A compiled header source. */
export interface CompiledHeaderSource {
  /** The `type` it was configured with (`trustedProxies[].source` may name it by this or by its first header). */
  readonly type: HeaderSourceType;
  readonly source: PeerSource;
  /** Lower-case names of every header this source reads (all are stripped from untrusted requests). */
  readonly headers: readonly string[];
  extract(headers: IncomingHttpHeaders): Extraction;
}

/** A compiled `sources` list. */
export interface CompiledSources {
  readonly tls: boolean;
  readonly headerSources: readonly CompiledHeaderSource[];
}

const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const sha256Hex = /^[0-9a-fA-F]{64}$/;
// SANs read to confirm an XFCC element; the header's own size bound keeps the work small.
const MAX_CONFIRMED_NAMES = 10_000;

function headerOption(object: Record<string, unknown>, key: string, path: string, fallback: string): string {
  const value = optionalString(object, key, path) ?? fallback;
  // RFC 9110 §5.1: a field name is a token; Node lower-cases incoming names.
  if (!headerName.test(value)) throw new InvalidOptionError(`${path}.${key}`, 'is not a valid header name');
  return value.toLowerCase();
}

/** A header's value: Node joins repeated headers with ', ' (which is exactly how XFCC hops combine). */
function read(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  return Array.isArray(raw) ? raw.join(', ') : raw;
}

/** Decodes the values of a source's headers (in `headers` order; at least one is present). May throw. */
type Decoder = (values: readonly (string | undefined)[]) => Extraction;

/**
 * A source over `headers`: reads and bounds the values, then decodes them once per distinct value set (a proxy
 * forwards the same header for every request of a client), failing closed on any decoding error.
 */
function headerSource(
  type: HeaderSourceType,
  source: PeerSource,
  headers: readonly string[],
  limits: HeaderLimits,
  decode: Decoder,
): CompiledHeaderSource {
  const decoded = new BoundedCache<string, Extraction>(limits.cacheSize);
  return Object.freeze({
    type,
    source,
    headers: Object.freeze([...headers]),
    extract(incoming: IncomingHttpHeaders): Extraction {
      const values = headers.map((name) => read(incoming, name));
      if (values.every((value) => value === undefined)) return { kind: 'absent' };
      // Bound the work a header can cause, whatever the server's maxHeaderSize.
      const tooLarge = headers.find((_, index) => (values[index]?.length ?? 0) > limits.maxHeaderBytes);
      if (tooLarge !== undefined) {
        return { kind: 'invalid', reason: 'PROXY_HEADER_TOO_LARGE', detail: `${tooLarge} exceeds maxHeaderBytes` };
      }
      const key = values.map((value) => (value === undefined ? '\u0000' : `=${value}`)).join('\u0001');
      const known = decoded.get(key);
      if (known !== undefined) return known;
      let extraction: Extraction;
      try {
        extraction = decode(values);
      } catch (error) {
        // Fail closed: a header that cannot be decoded exactly is no peer, never a crash.
        const detail = error instanceof MalformedHeaderError ? error.message : 'undecodable header';
        extraction = { kind: 'invalid', reason: 'PROXY_HEADER_MALFORMED', detail };
      }
      decoded.set(key, Object.freeze(extraction));
      return extraction;
    },
  });
}

/** The SHA-256 hex of a DER certificate, as Envoy writes it in `Hash`. */
const sha256Of = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');

/** Whether the values Envoy wrote for one SAN type are exactly the certificate's (Envoy writes `URI=` when none). */
function sameNames(written: readonly string[] | undefined, names: readonly string[]): boolean {
  if (written === undefined) return true;
  const expected = names.length === 0 ? [''] : names;
  return written.length === expected.length && written.every((value, index) => value === expected[index]);
}

/**
 * Confirms that an element is exactly what a proxy wrote about one certificate. Envoy writes `URI=` and `DNS=`
 * unquoted, so a SAN such as `https://x/y,Cert=<pem>` would otherwise split one element into two and put a
 * smuggled certificate where the trusted one belongs: every URI/DNS value must be the certificate's own, and a
 * URI/DNS value with no certificate to confirm it makes the header ambiguous.
 */
function confirmElement(element: XfccElement): void {
  const cert = singleValue(element, 'cert');
  if (cert === undefined) {
    if (element.has('uri') || element.has('dns')) throw new MalformedHeaderError('URI/DNS without a Cert to confirm');
    return;
  }
  const der = decodeCertificate(cert, 'url-pem');
  const hash = singleValue(element, 'hash');
  if (hash !== undefined && sha256Of(der) !== hash.toLowerCase()) throw new MalformedHeaderError('Hash is not Cert');
  let certificate: ParsedCertificate;
  try {
    certificate = parseCertificate(der, { maxSubjectAltNames: MAX_CONFIRMED_NAMES });
  } catch {
    throw new MalformedHeaderError('a Cert that cannot be read');
  }
  if (!sameNames(element.get('uri'), certificate.san.uri) || !sameNames(element.get('dns'), certificate.san.dns)) {
    throw new MalformedHeaderError("URI/DNS fields that are not the Cert's own (a split element)");
  }
}

/**
 * Without a certificate nothing can confirm where an element ends: the header must hold exactly one element per
 * trusted hop (the proxy replaces the client's header, Envoy `SANITIZE_SET`), and at most one `URI`, so a SAN that
 * holds `,URI=` or `;URI=` is refused instead of read as a second identity.
 */
function claimedElement(elements: readonly XfccElement[], hops: number): XfccElement {
  if (elements.length !== hops) throw new MalformedHeaderError('claimed identity with more elements than hops');
  const element = selectElement(elements, hops);
  if ((element.get('uri')?.length ?? 0) > 1) throw new MalformedHeaderError('claimed identity with several URI');
  return element;
}

function xfccSource(options: Record<string, unknown>, path: string, limits: HeaderLimits): CompiledHeaderSource {
  assertOptionsObject(options, path, ['type', 'header', 'hops', 'allowClaimedIdentity']);
  const header = headerOption(options, 'header', path, 'x-forwarded-client-cert');
  const hops = optionalInteger(options, 'hops', path, 1, 8) ?? 1;
  const allowClaimed = optionalBoolean(options, 'allowClaimedIdentity', path) ?? false;
  const xfccLimits = { maxElements: 16, maxPairs: 64 };
  return headerSource('xfcc', 'xfcc', [header], limits, ([value]) => {
    const elements = parseXfcc(value as string, xfccLimits);
    let element = selectElement(elements, hops);
    const cert = singleValue(element, 'cert');
    const hash = singleValue(element, 'hash');
    if (hash !== undefined && !sha256Hex.test(hash)) throw new MalformedHeaderError('Hash is not a SHA-256 hex digest');
    // The identity comes from the certificate, never from the claimed Subject/URI/DNS fields (unless opted in).
    if (cert === undefined) {
      if (!allowClaimed) {
        return { kind: 'invalid', reason: 'PROXY_CERTIFICATE_MISSING', detail: 'the XFCC element has no Cert' };
      }
      element = claimedElement(elements, hops);
      const claims: Claims = {
        subject: singleValue(element, 'subject'),
        uri: element.get('uri') ?? [],
        dns: element.get('dns') ?? [],
        hash: hash?.toLowerCase(),
      };
      return { kind: 'claimed', claims };
    }
    const leaf = decodeCertificate(cert, 'url-pem');
    // Envoy: Hash is the SHA-256 of the DER of Cert; a mismatch means one of them was tampered with.
    if (hash !== undefined && sha256Of(leaf) !== hash.toLowerCase()) {
      return { kind: 'invalid', reason: 'PROXY_HASH_MISMATCH', detail: 'Hash does not match Cert' };
    }
    // Elements up to the chosen one describe the client: a split in any of them moves the choice.
    for (const written of elements.slice(0, elements.length - hops + 1)) confirmElement(written);
    const chainValue = singleValue(element, 'chain');
    const chain =
      chainValue === undefined ? [] : decodePemCertificates(urlDecode(chainValue), limits.maxChainCertificates + 1);
    return { kind: 'certificate', leaf, chain };
  });
}

function clientCertSource(options: Record<string, unknown>, path: string, limits: HeaderLimits): CompiledHeaderSource {
  assertOptionsObject(options, path, ['type', 'header', 'chainHeader']);
  const header = headerOption(options, 'header', path, 'client-cert');
  const chainHeader = headerOption(options, 'chainHeader', path, 'client-cert-chain');
  return headerSource('client-cert', 'client-cert', [header, chainHeader], limits, ([value, chainValue]) => {
    // RFC 9440 §2.3: Client-Cert-Chain without Client-Cert carries no client certificate.
    if (value === undefined) {
      return { kind: 'invalid', reason: 'PROXY_CERTIFICATE_MISSING', detail: 'Client-Cert-Chain without Client-Cert' };
    }
    const leaf = parseByteSequenceItem(value);
    const chain = chainValue === undefined ? [] : parseByteSequenceList(chainValue, limits.maxChainCertificates);
    return { kind: 'certificate', leaf, chain };
  });
}

function singleHeaderSource(
  type: 'nginx' | 'header',
  header: string,
  encoding: CertificateEncoding,
  limits: HeaderLimits,
): CompiledHeaderSource {
  return headerSource(type, 'header', [header], limits, ([value]) => ({
    kind: 'certificate',
    leaf: decodeCertificate(value as string, encoding),
    chain: [],
  }));
}

/** Compiles the `sources` option; throws {@link InvalidOptionError} at startup. */
export function compileSources(value: unknown, path: string, limits: HeaderLimits): CompiledSources {
  if (value === undefined) return Object.freeze({ tls: true, headerSources: Object.freeze([]) });
  if (!Array.isArray(value) || value.length === 0) throw new InvalidOptionError(path, 'must be a non-empty array');
  let tls = false;
  const headerSources: CompiledHeaderSource[] = [];
  const seen = new Set<string>();
  value.forEach((entry: unknown, index) => {
    const where = `${path}[${index}]`;
    const options: unknown = typeof entry === 'string' ? { type: entry } : entry;
    if (!isPlainObject(options)) throw new InvalidOptionError(where, 'must be a source name or object');
    const type = optionalChoice(options, 'type', where, ['tls', 'xfcc', 'client-cert', 'nginx', 'header'] as const);
    if (type === undefined) throw new InvalidOptionError(`${where}.type`, 'is required');
    if (type === 'tls') {
      assertOptionsObject(options, where, ['type']);
      tls = true;
      return;
    }
    let compiled: CompiledHeaderSource;
    if (type === 'xfcc') compiled = xfccSource(options, where, limits);
    else if (type === 'client-cert') compiled = clientCertSource(options, where, limits);
    else if (type === 'nginx') {
      assertOptionsObject(options, where, ['type', 'header']);
      compiled = singleHeaderSource(
        'nginx',
        headerOption(options, 'header', where, 'x-ssl-client-cert'),
        'url-pem',
        limits,
      );
    } else {
      assertOptionsObject(options, where, ['type', 'header', 'encoding']);
      if (optionalString(options, 'header', where) === undefined) {
        throw new InvalidOptionError(`${where}.header`, 'is required');
      }
      const encoding = optionalChoice(options, 'encoding', where, ['pem', 'url-pem', 'base64-der'] as const);
      if (encoding === undefined) throw new InvalidOptionError(`${where}.encoding`, 'is required');
      compiled = singleHeaderSource('header', headerOption(options, 'header', where, ''), encoding, limits);
    }
    for (const header of compiled.headers) {
      // Two sources reading one header would make the choice between them depend on order alone.
      if (seen.has(header))
        throw new InvalidOptionError(where, `reads header "${header}" already read by another source`);
      seen.add(header);
    }
    headerSources.push(compiled);
  });
  return Object.freeze({ tls, headerSources: Object.freeze(headerSources) });
}
