/**
 * Reads one `X509SVIDResponse` of the Workload API into PEM, refusing it whole when a mandatory field is empty
 * (Workload API §4.5), an SVID's certificate does not carry the SPIFFE ID it is sent under (X509-SVID §2), or a
 * trust domain name or bundle is malformed. Key/certificate agreement, validity and strength are checked later by
 * the same checks and dry run as `mtlsOptions`.
 *
 * @module spiffe/x509-context
 */
import { createPrivateKey } from 'node:crypto';
import { KoaMtlsError } from '../errors.js';
import { parseCertificate } from '../identity/parse-certificate.js';
import { isWorkloadSpiffeId } from '../identity/spiffe-id.js';
import { children, Tag } from '../x509/der.js';

/** One X509-SVID of the workload, in memory. */
export interface X509Svid {
  /** `spiffe://<trust domain>/<path>`. */
  readonly spiffeId: string;
  readonly trustDomain: string;
  /** The operator's hint (`internal`, `external`, …), or `''`. */
  readonly hint: string;
  /** The chain, leaf first, PEM. */
  readonly chain: string;
  /** The PKCS#8 private key, PEM. Never written anywhere. */
  readonly key: string;
}

/** Everything one `FetchX509SVID` message carries, validated. */
export interface X509Context {
  /** The chosen SVID (by hint, else the first: Workload API §8). */
  readonly svid: X509Svid;
  /** Every trust domain's bundle, own and federated: trust domain name → PEM certificates. */
  readonly trustDomains: Readonly<Record<string, readonly string[]>>;
  /** CRLs, PEM. */
  readonly crls: readonly string[];
}

// SPIFFE-ID §2.1: trust domain names are lower-case letters, digits, '.', '-' and '_' only, at most 255 bytes
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
// A bound on hostile input: SPIRE sends a handful of certificates per bundle
const MAX_CERTIFICATES = 1024;
const parseLimits = { maxSubjectAltNames: 1024 };

function badUpdate(problem: string, cause?: unknown): KoaMtlsError {
  return new KoaMtlsError(
    'ERR_SPIFFE_BAD_UPDATE',
    `Workload API update refused: ${problem}`,
    cause === undefined ? {} : { cause },
  );
}

function pem(type: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${type}-----\n${base64.replace(/.{1,64}/g, '$&\n')}-----END ${type}-----`;
}

function bytesField(object: Readonly<Record<string, unknown>>, field: string, where: string): Buffer {
  const value = object[field];
  // Workload API §4.5: a mandatory field with its default (empty) value makes the whole message invalid
  if (!(value instanceof Uint8Array) || value.length === 0) throw badUpdate(`${where}: ${field} is empty`);
  return Buffer.from(value);
}

/** The certificates of an "ASN.1 DER encoded" field: concatenated DER certificates (Workload API §5.1). */
function certificates(bytes: Buffer, where: string): Buffer[] {
  let items: Buffer[];
  try {
    const sequence = { tagClass: 0, constructed: true, tagNumber: Tag.SEQUENCE, content: bytes, encoded: bytes };
    items = children(sequence, MAX_CERTIFICATES).map((node) => Buffer.from(node.encoded));
  } catch (error) {
    throw badUpdate(`${where} is not a sequence of DER certificates`, error);
  }
  if (items.length === 0) throw badUpdate(`${where} holds no certificate`);
  return items;
}

/** `example.org` from `example.org` or `spiffe://example.org` (go-spiffe accepts both as map keys). */
function trustDomainName(key: string): string {
  const name = key.startsWith('spiffe://') ? key.slice('spiffe://'.length) : key;
  if (!TRUST_DOMAIN.test(name)) throw badUpdate(`federated bundle key ${JSON.stringify(key)} is not a trust domain`);
  return name;
}

function readSvid(entry: unknown, index: number): X509Svid & { readonly bundle: readonly string[] } {
  const where = `svids[${index}]`;
  if (typeof entry !== 'object' || entry === null) throw badUpdate(`${where} is not a message`);
  const svid = entry as Readonly<Record<string, unknown>>;
  const spiffeId = svid.spiffe_id;
  if (typeof spiffeId !== 'string' || !isWorkloadSpiffeId(spiffeId)) {
    throw badUpdate(`${where}: spiffe_id is not a workload SPIFFE ID`);
  }
  const chain = certificates(bytesField(svid, 'x509_svid', where), `${where}.x509_svid`);
  const leaf = chain[0] as Buffer;
  let leafId: string | undefined;
  try {
    leafId = parseCertificate(leaf, parseLimits).spiffeId;
  } catch (error) {
    throw badUpdate(`${where}: the leaf certificate does not parse`, error);
  }
  // X509-SVID §2: the SVID's identity is its single URI SAN; it must be the ID the agent sends it under
  if (leafId !== spiffeId) {
    throw badUpdate(`${where}: the leaf certificate is not an X509-SVID for ${spiffeId}`);
  }
  let key: string;
  try {
    // Workload API §5.1: x509_svid_key is an unencrypted PKCS#8 DER key
    key = createPrivateKey({ key: bytesField(svid, 'x509_svid_key', where), format: 'der', type: 'pkcs8' })
      .export({ format: 'pem', type: 'pkcs8' })
      .toString();
  } catch (error) {
    if (error instanceof KoaMtlsError) throw error;
    throw badUpdate(`${where}: x509_svid_key is not a PKCS#8 private key`, error);
  }
  const bundle = certificates(bytesField(svid, 'bundle', where), `${where}.bundle`).map((der) =>
    pem('CERTIFICATE', der),
  );
  const hint = typeof svid.hint === 'string' ? svid.hint : '';
  const trustDomain = spiffeId.slice('spiffe://'.length, spiffeId.indexOf('/', 'spiffe://'.length));
  return { spiffeId, trustDomain, hint, chain: chain.map((der) => pem('CERTIFICATE', der)).join('\n'), key, bundle };
}

/**
 * Validates one decoded `X509SVIDResponse` and returns it in PEM. Throws `ERR_SPIFFE_BAD_UPDATE` for anything
 * malformed, so that the caller keeps its previous state.
 */
export function readX509Context(message: Readonly<Record<string, unknown>>, hint: string | undefined): X509Context {
  const entries = message.svids;
  // Workload API §4.5, §5.2.1: svids is mandatory; an empty list is a malformed message, never "no identity"
  if (!Array.isArray(entries) || entries.length === 0) throw badUpdate('the message has no SVID');
  const svids = entries.map(readSvid);
  // Workload API §8: without a hint the first SVID is the default identity
  const chosen = hint === undefined ? svids[0] : svids.find((svid) => svid.hint === hint);
  if (chosen === undefined) throw badUpdate(`no SVID has the hint ${JSON.stringify(hint)}`);

  const trustDomains: Record<string, readonly string[]> = Object.create(null);
  for (const svid of svids) {
    const known = trustDomains[svid.trustDomain];
    // Two SVIDs of one trust domain must agree on its bundle: which one to trust would otherwise be a guess
    if (known !== undefined && known.join('\n') !== svid.bundle.join('\n')) {
      throw badUpdate(`the SVIDs of ${svid.trustDomain} carry different bundles`);
    }
    trustDomains[svid.trustDomain] = Object.freeze([...svid.bundle]);
  }
  const federated = message.federated_bundles;
  if (federated !== undefined && (typeof federated !== 'object' || federated === null)) {
    throw badUpdate('federated_bundles is not a map');
  }
  for (const [key, value] of Object.entries(federated ?? {})) {
    const name = trustDomainName(key);
    // Workload API §4.6: a peer is checked against its own domain's bundle only; a second bundle for a local
    // domain would let the federated side vouch for local identities
    if (trustDomains[name] !== undefined) throw badUpdate(`federated_bundles names the local trust domain ${name}`);
    if (!(value instanceof Uint8Array) || value.length === 0) throw badUpdate(`the bundle of ${name} is empty`);
    trustDomains[name] = Object.freeze(
      certificates(Buffer.from(value), `federated_bundles[${name}]`).map((der) => pem('CERTIFICATE', der)),
    );
  }
  const crl = Array.isArray(message.crl) ? message.crl : [];
  const crls = crl.map((der, index) => {
    if (!(der instanceof Uint8Array) || der.length === 0) throw badUpdate(`crl[${index}] is empty`);
    return pem('X509 CRL', der);
  });
  const { bundle: _bundle, ...svid } = chosen;
  return Object.freeze({
    svid: Object.freeze(svid),
    trustDomains: Object.freeze(trustDomains),
    crls: Object.freeze(crls),
  });
}
