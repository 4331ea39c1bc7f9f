/**
 * A development certificate authority: a root (or intermediate) that issues server and client certificates with
 * any subject, any SAN type, chosen validity, key and signature algorithm, and signs CRLs that OpenSSL accepts.
 *
 * For tests, demos and local development only: keys live in memory and in the files a caller writes.
 */
import { X509Certificate as NodeX509Certificate, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { KoaMtlsError } from '../errors.js';
import { type CryptoKey, type CryptoKeyPair, type RsaHashedKeyAlgorithm, subtle, x509 } from '../x509/runtime.js';
import { type DistinguishedNameInput, toJsonName } from './distinguished-name.js';
import {
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  type KeyAlgorithm,
  type SignatureHash,
  signingAlgorithm,
} from './keys.js';

const DAY_MS = 86_400_000;

/** Extended key usages by name (RFC 5280 §4.2.1.12). */
const extendedKeyUsageOids = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
} as const;

/**
 * An extended key usage the development PKI can write.
 *
 * @example
 * ```ts
 * import { createCertificateAuthority, type ExtendedKeyUsageName } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const both: ExtendedKeyUsageName[] = ['serverAuth', 'clientAuth'];
 * const peer = await ca.issueServer({ extendedKeyUsage: both }); // one certificate for both ends
 * ```
 */
export type ExtendedKeyUsageName = keyof typeof extendedKeyUsageOids;

/**
 * Subject alternative names by type. IPs may be IPv4 or IPv6; DNS names are written as given (use A-labels).
 *
 * @example
 * ```ts
 * import { createCertificateAuthority, type SubjectAltNameInput } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const san: SubjectAltNameInput = { dns: ['api.internal'], ip: ['10.0.0.7', '::1'] };
 * const server = await ca.issueServer({ san });
 * ```
 */
export interface SubjectAltNameInput {
  readonly dns?: readonly string[];
  /** URIs, SPIFFE IDs included (`spiffe://example.org/ns/prod/sa/api`). */
  readonly uri?: readonly string[];
  readonly email?: readonly string[];
  readonly ip?: readonly string[];
  /** Microsoft UPN otherNames (`user@example.com`). */
  readonly upn?: readonly string[];
}

/**
 * What a certificate should contain. Every field is optional.
 *
 * @example
 * ```ts
 * import { type CertificateOptions, createCertificateAuthority } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const options: CertificateOptions = { subject: 'CN=billing,O=Example', san: { uri: ['spiffe://example.org/billing'] } };
 * const client = await ca.issueClient(options);
 * ```
 */
export interface CertificateOptions {
  /** Subject DN. Default: `CN=<first DNS SAN, or "koa-mtls client">`. */
  readonly subject?: DistinguishedNameInput;
  readonly san?: SubjectAltNameInput;
  /** Extended key usages; `null` leaves the extension out. Default by purpose: client → clientAuth, server → serverAuth. */
  readonly extendedKeyUsage?: readonly ExtendedKeyUsageName[] | null;
  /** Default `ec-p256`. */
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Default `SHA-256`. `SHA-1` is for negative tests. */
  readonly signatureHash?: SignatureHash;
  /** Default: one hour ago (tolerates clock skew). */
  readonly notBefore?: Date;
  /** Default: `notBefore` + `validityDays`. */
  readonly notAfter?: Date;
  /** Default 30. Ignored when `notAfter` is given. */
  readonly validityDays?: number;
  /** Hex serial number. Default: 16 random bytes. */
  readonly serialNumber?: string;
  /** Marks a leaf as a CA (basicConstraints cA=true), for negative tests. Default false. */
  readonly isCA?: boolean;
}

/**
 * A certificate with its private key, all PEM.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { createCertificateAuthority, type IssuedCertificate } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const client: IssuedCertificate = await ca.issueClient();
 * writeFileSync('client.crt', client.chain);
 * writeFileSync('client.key', client.key, { mode: 0o600 });
 * ```
 */
export interface IssuedCertificate {
  /** The certificate, PEM. */
  readonly certificate: string;
  /** The PKCS#8 private key, PEM. Write it with mode 0600. */
  readonly key: string;
  /** The certificate followed by the intermediates up to (not including) the root, PEM: what a TLS peer sends. */
  readonly chain: string;
  /** Lower-case hex, no separators. */
  readonly serialNumber: string;
  /** SHA-256 of the DER, lower-case hex, no separators. */
  readonly fingerprint256: string;
}

/**
 * One revoked certificate in a CRL.
 *
 * @example
 * ```ts
 * import { createCertificateAuthority, type RevokedCertificate } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const revoked: RevokedCertificate = { serialNumber: (await ca.issueClient()).serialNumber, revocationDate: new Date() };
 * const crl = await ca.createCrl({ revoked: [revoked] });
 * ```
 */
export interface RevokedCertificate {
  /** Hex serial number (any case, no separators). */
  readonly serialNumber: string;
  /** Default: now. */
  readonly revocationDate?: Date;
}

/**
 * CRL contents.
 *
 * @example
 * ```ts
 * import { type CrlOptions, createCertificateAuthority } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const client = await ca.issueClient();
 * const options: CrlOptions = { revoked: [{ serialNumber: client.serialNumber }] };
 * const crl = await ca.createCrl(options); // PEM, for mtlsOptions({ crl })
 * ```
 */
export interface CrlOptions {
  readonly revoked?: readonly RevokedCertificate[];
  /** Default: one hour ago. */
  readonly thisUpdate?: Date;
  /** Default: `thisUpdate` + 7 days. A past date makes an expired CRL, which OpenSSL rejects every client for. */
  readonly nextUpdate?: Date;
}

/**
 * Options of {@link createCertificateAuthority}.
 *
 * @example
 * ```ts
 * import { type CertificateAuthorityOptions, createCertificateAuthority } from 'koa-mtls/pki';
 *
 * const options: CertificateAuthorityOptions = { subject: 'CN=Test Root,O=Example', keyAlgorithm: 'ec-p384', validityDays: 1 };
 * const root = await createCertificateAuthority(options);
 * ```
 */
export interface CertificateAuthorityOptions {
  /** Default `CN=koa-mtls development root CA`. */
  readonly subject?: DistinguishedNameInput;
  /** Default `ec-p256`. */
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Default `SHA-256`. */
  readonly signatureHash?: SignatureHash;
  /** Default 3650 (a development root). */
  readonly validityDays?: number;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/**
 * A CA that can issue certificates, intermediates and CRLs.
 *
 * @example
 * ```ts
 * import { createCertificateAuthority } from 'koa-mtls/pki';
 * const root = await createCertificateAuthority();
 * const server = await root.issueServer({ san: { dns: ['localhost'], ip: ['127.0.0.1'] } });
 * const client = await root.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/api'] } });
 * ```
 */
export interface CertificateAuthority extends IssuedCertificate {
  /** The root certificate of this CA's hierarchy, PEM: what a server puts in `ca`. */
  readonly root: string;
  /** Issues a certificate for a TLS server (default EKU serverAuth; default SAN `localhost`, `127.0.0.1`, `::1`). */
  issueServer(options?: CertificateOptions): Promise<IssuedCertificate>;
  /** Issues a certificate for a TLS client (default EKU clientAuth). */
  issueClient(options?: CertificateOptions): Promise<IssuedCertificate>;
  /** Creates an intermediate CA signed by this one. */
  createIntermediate(options?: CertificateAuthorityOptions): Promise<CertificateAuthority>;
  /** Signs a CRL (PEM, `X509 CRL`) revoking the given serial numbers. */
  createCrl(options?: CrlOptions): Promise<string>;
}

function invalid(message: string): KoaMtlsError {
  return new KoaMtlsError('ERR_PKI_INVALID_INPUT', message);
}

function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  // RFC 5280 §4.1.2.2: a positive INTEGER, so the high bit of the first byte is clear.
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x10;
  return bytes.toString('hex');
}

function normalizeSerial(serial: string): string {
  const hex = serial.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,40}$/.test(hex)) throw invalid(`serial number "${serial}" is not hex`);
  return hex;
}

function validity(options: CertificateOptions | CertificateAuthorityOptions, defaultDays: number) {
  const notBefore = options.notBefore ?? new Date(Date.now() - 3_600_000);
  const days = options.validityDays ?? defaultDays;
  if (!Number.isFinite(days) || days <= 0) throw invalid('validityDays must be a positive number');
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + days * DAY_MS);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime()))
    throw invalid('validity dates are invalid');
  if (notAfter.getTime() <= notBefore.getTime()) throw invalid('notAfter must be later than notBefore');
  return { notBefore, notAfter };
}

/** Re-imports an RSA key bound to `hash` (an RSASSA key signs with the hash it was imported with). */
async function keyForHash(key: CryptoKey, hash: SignatureHash): Promise<CryptoKey> {
  if (key.algorithm.name !== 'RSASSA-PKCS1-v1_5') return key;
  if ((key.algorithm as RsaHashedKeyAlgorithm).hash.name === hash) return key;
  const der = await subtle.exportKey('pkcs8', key);
  return subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash }, true, ['sign']);
}

/**
 * An IP SAN in the form @peculiar/x509 encodes correctly: it misreads an IPv6 address with an embedded IPv4 part
 * (`::ffff:1.2.3.4` became `::ffff:0.0.0.1`), so that part is rewritten as two hex groups (found by fuzzing).
 */
function ipSan(value: string): string {
  const family = isIP(value);
  if (family === 0) throw invalid(`"${value}" is not an IP address`);
  if (family === 4 || !value.includes('.')) return value;
  const colon = value.lastIndexOf(':');
  const [a, b, c, d] = value
    .slice(colon + 1)
    .split('.')
    .map(Number) as [number, number, number, number];
  return `${value.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function subjectAltNames(san: SubjectAltNameInput): x509.JsonGeneralName[] {
  const names: x509.JsonGeneralName[] = [];
  for (const value of san.dns ?? []) names.push({ type: 'dns', value });
  for (const value of san.uri ?? []) names.push({ type: 'url', value });
  for (const value of san.email ?? []) names.push({ type: 'email', value });
  for (const value of san.ip ?? []) names.push({ type: 'ip', value: ipSan(value) });
  for (const value of san.upn ?? []) names.push({ type: 'upn', value });
  return names;
}

function fingerprint256(certificate: x509.X509Certificate): string {
  return new NodeX509Certificate(Buffer.from(certificate.rawData)).fingerprint256.replaceAll(':', '').toLowerCase();
}

interface Signer {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
  readonly intermediates: readonly string[];
  readonly root: string;
}

async function createSigned(
  signer: Signer | undefined,
  options: CertificateOptions,
  purpose: 'server' | 'client' | 'ca',
): Promise<{ certificate: x509.X509Certificate; keys: CryptoKeyPair }> {
  const keys = await generateKeyPair(options.keyAlgorithm ?? 'ec-p256');
  const isCA = purpose === 'ca' || options.isCA === true;
  const { notBefore, notAfter } = validity(options, purpose === 'ca' ? 3650 : 30);
  const defaultCn =
    purpose === 'ca' ? 'koa-mtls development root CA' : (options.san?.dns?.[0] ?? `koa-mtls ${purpose}`);
  const subject = new x509.Name(toJsonName(options.subject ?? [[['CN', defaultCn]]]));
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(isCA, purpose === 'ca' ? undefined : undefined, true),
    new x509.KeyUsagesExtension(
      isCA
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
        : keys.privateKey.algorithm.name === 'ECDSA'
          ? x509.KeyUsageFlags.digitalSignature
          : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (signer !== undefined) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.certificate));
  }
  const defaultEku: ExtendedKeyUsageName[] =
    purpose === 'server' ? ['serverAuth'] : purpose === 'client' ? ['clientAuth'] : [];
  const eku = options.extendedKeyUsage === undefined ? defaultEku : options.extendedKeyUsage;
  if (eku !== null && eku.length > 0) {
    extensions.push(new x509.ExtendedKeyUsageExtension(eku.map((name) => extendedKeyUsageOids[name])));
  }
  const san = subjectAltNames(options.san ?? {});
  if (san.length > 0) {
    // RFC 5280 §4.2.1.6: critical when the subject is empty; our subjects never are.
    extensions.push(new x509.SubjectAlternativeNameExtension(san, false));
  }
  const hash = options.signatureHash ?? 'SHA-256';
  const signingKey = await keyForHash(signer?.privateKey ?? keys.privateKey, hash);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: options.serialNumber === undefined ? randomSerialNumber() : normalizeSerial(options.serialNumber),
    subject,
    issuer: signer?.certificate.subjectName ?? subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: signingAlgorithm(signingKey, hash),
    extensions,
  });
  return { certificate, keys };
}

async function issued(
  certificate: x509.X509Certificate,
  privateKey: CryptoKey,
  intermediates: readonly string[],
): Promise<IssuedCertificate> {
  const pem = certificate.toString('pem');
  return Object.freeze({
    certificate: `${pem}\n`,
    key: await exportPrivateKeyPem(privateKey),
    chain: `${[pem, ...intermediates].join('\n')}\n`,
    serialNumber: certificate.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    fingerprint256: fingerprint256(certificate),
  });
}

async function authority(signer: Signer): Promise<CertificateAuthority> {
  const own = await issued(signer.certificate, signer.privateKey, signer.intermediates);
  const issue = async (options: CertificateOptions, purpose: 'server' | 'client') => {
    const { certificate, keys } = await createSigned(signer, options, purpose);
    const chainUp = signer.root === own.certificate ? [] : [own.certificate.trim(), ...signer.intermediates];
    return issued(certificate, keys.privateKey, chainUp);
  };
  return Object.freeze({
    ...own,
    root: signer.root,
    issueServer: (options: CertificateOptions = {}) =>
      issue({ ...options, san: options.san ?? { dns: ['localhost'], ip: ['127.0.0.1', '::1'] } }, 'server'),
    issueClient: (options: CertificateOptions = {}) => issue(options, 'client'),
    async createIntermediate(options: CertificateAuthorityOptions = {}) {
      const { certificate, keys } = await createSigned(
        signer,
        { ...options, subject: options.subject ?? [[['CN', 'koa-mtls development intermediate CA']]] },
        'ca',
      );
      const chainUp = signer.root === own.certificate ? [] : [own.certificate.trim(), ...signer.intermediates];
      return authority({ certificate, privateKey: keys.privateKey, intermediates: chainUp, root: signer.root });
    },
    async createCrl(options: CrlOptions = {}) {
      const thisUpdate = options.thisUpdate ?? new Date(Date.now() - 3_600_000);
      const nextUpdate = options.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * DAY_MS);
      const crl = await x509.X509CrlGenerator.create({
        issuer: signer.certificate.subjectName,
        thisUpdate,
        nextUpdate,
        // OpenSSL rejects an entry whose extension list is empty, which is what @peculiar/x509 writes without a reason.
        entries: (options.revoked ?? []).map((entry) => ({
          serialNumber: normalizeSerial(entry.serialNumber),
          revocationDate: entry.revocationDate ?? new Date(),
          reason: x509.X509CrlReason.keyCompromise,
        })),
        extensions: [await x509.AuthorityKeyIdentifierExtension.create(signer.certificate)],
        signingKey: signer.privateKey,
        signingAlgorithm: signingAlgorithm(signer.privateKey, 'SHA-256'),
      });
      // OpenSSL (and so Node's `crl` option) reads only the `X509 CRL` PEM label; @peculiar/x509 writes `CRL`.
      return `${x509.PemConverter.encode(crl.rawData, 'X509 CRL')}\n`;
    },
  });
}

/**
 * Creates a self-signed development root CA.
 *
 * @example
 * ```ts
 * import { createCertificateAuthority } from 'koa-mtls/pki';
 * const root = await createCertificateAuthority({ subject: 'CN=Test Root,O=Acme' });
 * const intermediate = await root.createIntermediate();
 * const client = await intermediate.issueClient({ subject: 'CN=svc+UID=42,O=Acme' });
 * ```
 */
export async function createCertificateAuthority(
  options: CertificateAuthorityOptions = {},
): Promise<CertificateAuthority> {
  const { certificate, keys } = await createSigned(undefined, options, 'ca');
  const pem = `${certificate.toString('pem')}\n`;
  return authority({ certificate, privateKey: keys.privateKey, intermediates: [], root: pem });
}

/**
 * Loads a CA from its PEM certificate and key (as written by `koa-mtls certs init`), to issue more certificates or CRLs.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { loadCertificateAuthority } from 'koa-mtls/pki';
 * const ca = await loadCertificateAuthority({ certificate: readFileSync('ca.pem', 'utf8'), key: readFileSync('ca-key.pem', 'utf8') });
 * ```
 */
export async function loadCertificateAuthority(input: {
  readonly certificate: string;
  readonly key: string;
  /** PEM of the issuers above this CA up to the root (the root last). Empty for a root. */
  readonly issuers?: string;
}): Promise<CertificateAuthority> {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(input.certificate);
  } catch (cause) {
    throw new KoaMtlsError('ERR_PKI_INVALID_INPUT', 'the CA certificate is not a readable PEM certificate', { cause });
  }
  const privateKey = await importPrivateKeyPem(input.key);
  const issuers = (input.issuers ?? '').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const ownPem = `${certificate.toString('pem')}\n`;
  const root = issuers.length === 0 ? ownPem : `${issuers[issuers.length - 1]}\n`;
  return authority({ certificate, privateKey, intermediates: issuers.slice(0, -1), root });
}
