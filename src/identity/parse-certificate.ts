/**
 * Reads an X.509 certificate (RFC 5280 §4.1) from DER into the source-independent part of a {@link PeerIdentity}.
 * The parser never verifies anything: it only refuses what it cannot read exactly. Trust comes from the TLS
 * handshake or from app-side re-verification.
 */
import { createHash } from 'node:crypto';
import {
  children,
  DerError,
  type DerNode,
  decodeBoolean,
  decodeOid,
  expectUniversal,
  parseDer,
  Tag,
  toHex,
} from '../x509/der.js';
import { parseName } from './distinguished-name.js';
import type { DistinguishedName, KeyUsage, SubjectAltNames } from './peer-identity.js';
import { svidSpiffeId } from './spiffe-id.js';
import { noSubjectAltNames, parseSubjectAltNames } from './subject-alt-names.js';

/** id-kp-clientAuth (RFC 5280 §4.2.1.12). */
export const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

const EXT_SUBJECT_ALT_NAME = '2.5.29.17';
const EXT_BASIC_CONSTRAINTS = '2.5.29.19';
const EXT_KEY_USAGE = '2.5.29.15';
const EXT_EXT_KEY_USAGE = '2.5.29.37';
const EXT_NAME_CONSTRAINTS = '2.5.29.30';
const EXT_SUBJECT_KEY_ID = '2.5.29.14';
const EXT_AUTHORITY_KEY_ID = '2.5.29.35';
const EXT_AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1';
const EXT_CRL_DISTRIBUTION_POINTS = '2.5.29.31';
const EXT_NETSCAPE_CERT_TYPE = '2.16.840.1.113730.1.1';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';

/**
 * Extensions RFC 5280 requires to be non-critical: AKI (§4.2.1.1), SKI (§4.2.1.2) and AIA (§4.2.2.1). Marked
 * critical, they make the certificate unusable, as OpenSSL's strict checks and x509-limbo expect.
 */
const neverCritical: ReadonlySet<string> = new Set([
  EXT_SUBJECT_KEY_ID,
  EXT_AUTHORITY_KEY_ID,
  EXT_AUTHORITY_INFO_ACCESS,
]);

/**
 * Extensions a relying party may see marked critical and still process (RFC 5280 §4.2: a certificate with an
 * unrecognized critical extension MUST be rejected). Policy and name constraints are enforced by the chain
 * verifier (OpenSSL or `crypto.X509Certificate`), not here.
 */
const knownExtensions: ReadonlySet<string> = new Set([
  EXT_SUBJECT_ALT_NAME,
  EXT_BASIC_CONSTRAINTS,
  EXT_KEY_USAGE,
  EXT_EXT_KEY_USAGE,
  EXT_NAME_CONSTRAINTS,
  '2.5.29.32', // certificatePolicies
  EXT_CRL_DISTRIBUTION_POINTS,
  EXT_NETSCAPE_CERT_TYPE,
]);

const keyUsageNames: readonly KeyUsage[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

/** Hard bounds on hostile input, whatever the options. */
const MAX_CERTIFICATE_BYTES = 64 * 1024;
const MAX_EXTENSIONS = 64;
const MAX_EKUS = 64;

/** A parsed certificate: everything in a PeerIdentity that does not depend on where the certificate came from. */
export interface ParsedCertificate {
  readonly der: Uint8Array;
  readonly subject: DistinguishedName;
  readonly issuer: DistinguishedName;
  readonly san: SubjectAltNames;
  readonly spiffeId: string | undefined;
  readonly serialNumber: string;
  readonly fingerprint256: string;
  readonly spkiFingerprint256: string;
  /** Validity start, epoch milliseconds (a number, so that no shared `Date` can be mutated). */
  readonly notBefore: number;
  /** Validity end, epoch milliseconds. */
  readonly notAfter: number;
  readonly keyUsage: readonly KeyUsage[];
  readonly extKeyUsage: readonly string[];
  /** Whether the extKeyUsage extension is present (an absent EKU allows every purpose, RFC 5280 §4.2.1.12). */
  readonly hasExtKeyUsage: boolean;
  readonly isCA: boolean;
  /**
   * OIDs of critical extensions that make the certificate unusable (non-empty → never a peer, never an issuer):
   * those this parser does not understand (RFC 5280 §4.2), the ones RFC 5280 requires to be non-critical (AKI, SKI,
   * AIA), and policyConstraints/inhibitAnyPolicy, whose policy processing is not implemented.
   */
  readonly unknownCriticalExtensions: readonly string[];
  /** The certificate version: 1, 2 or 3 (RFC 5280 §4.1.2.1). */
  readonly version: number;
  /** Whether the keyUsage extension is present (an absent one allows every usage, RFC 5280 §4.2.1.3). */
  readonly hasKeyUsage: boolean;
  /** Whether basicConstraints is present and marked critical (RFC 5280 §4.2.1.9 requires it on CA certificates). */
  readonly basicConstraintsCritical: boolean;
  /** subjectKeyIdentifier, lower-case hex, when present. */
  readonly subjectKeyId: string | undefined;
  /** authorityKeyIdentifier keyIdentifier, lower-case hex, when present. */
  readonly authorityKeyId: string | undefined;
  /** Netscape certificate type bits (bit 0x80 = SSL client, 0x04 = SSL CA), when the extension is present. */
  readonly netscapeCertType: number | undefined;
  /** Whether the key is an EC key with explicit curve parameters instead of a named curve (RFC 5480 §2.1.1). */
  readonly explicitCurve: boolean;
  /** Hex of each cRLDistributionPoints distributionPoint name (DER), for CRL scope (RFC 5280 §5.2.5). */
  readonly crlDistributionPointNames: readonly string[];
  /** The outer signatureAlgorithm OID (for app-side chain verification). */
  readonly signatureAlgorithm: string;
  /** Hex of the issuer and subject Name DER, for exact issuer matching (RFC 5280 §7.1 allows binary comparison). */
  readonly issuerNameHex: string;
  readonly subjectNameHex: string;
  /** basicConstraints pathLenConstraint, when present. */
  readonly pathLength: number | undefined;
  /** Whether a nameConstraints extension is present (app-side verification refuses such CAs: not implemented). */
  readonly hasNameConstraints: boolean;
}

/** Parser limits. */
export interface ParseLimits {
  readonly maxSubjectAltNames: number;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads a CertificateSerialNumber as lower-case hex without leading zeros. */
export function parseSerial(node: DerNode): string {
  const bytes = expectUniversal(node, Tag.INTEGER, 'a serial number').content;
  // RFC 5280 §4.1.2.2: a positive integer of at most 20 octets (we accept the sign byte on top).
  if (bytes.length === 0 || bytes.length > 21) throw new DerError('bad serial number length');
  return toHex(bytes).replace(/^0+(?=.)/, '');
}

const utcTime = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const generalizedTime = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** Reads an RFC 5280 Time (UTCTime or GeneralizedTime, UTC, whole seconds) as epoch milliseconds. */
export function parseTime(node: DerNode): number {
  const text = Buffer.from(node.content).toString('latin1');
  const isUtc = node.tagClass === 0 && node.tagNumber === Tag.UTC_TIME;
  const isGeneralized = node.tagClass === 0 && node.tagNumber === Tag.GENERALIZED_TIME;
  // RFC 5280 §4.1.2.5: times are UTC ('Z'), with seconds and without fractions.
  const match = isUtc ? utcTime.exec(text) : isGeneralized ? generalizedTime.exec(text) : null;
  if (match === null) throw new DerError('bad time');
  const head = Number(match[1]);
  // RFC 5280 §4.1.2.5.1: a UTCTime year YY ≥ 50 is 19YY, otherwise 20YY.
  const year = isGeneralized ? head : head >= 50 ? 1900 + head : 2000 + head;
  const [month, day, hour, minute, second] = match.slice(2, 7).map(Number) as [number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new DerError('bad time');
  }
  return date.getTime();
}

function parseKeyUsage(extnValue: Uint8Array): KeyUsage[] {
  const bits = expectUniversal(parseDer(extnValue), Tag.BIT_STRING, 'a KeyUsage BIT STRING').content;
  const unused = bits[0];
  if (unused === undefined || unused > 7 || bits.length > 3) throw new DerError('bad KeyUsage');
  const usages: KeyUsage[] = [];
  keyUsageNames.forEach((name, index) => {
    const byte = bits[1 + (index >> 3)];
    if (byte !== undefined && (byte & (0x80 >> (index & 7))) !== 0) usages.push(name);
  });
  return usages;
}

function parseExtKeyUsage(extnValue: Uint8Array): string[] {
  const oids = children(expectUniversal(parseDer(extnValue), Tag.SEQUENCE, 'ExtKeyUsageSyntax'), MAX_EKUS);
  // RFC 5280 §4.2.1.12: SEQUENCE SIZE (1..MAX).
  if (oids.length === 0) throw new DerError('empty ExtKeyUsage');
  return oids.map(decodeOid);
}

function parseBasicConstraints(extnValue: Uint8Array): { isCA: boolean; pathLength: number | undefined } {
  const fields = children(expectUniversal(parseDer(extnValue), Tag.SEQUENCE, 'BasicConstraints'), 2);
  let rest = fields;
  let isCA = false;
  const first = fields[0];
  if (first !== undefined && first.tagClass === 0 && first.tagNumber === Tag.BOOLEAN) {
    isCA = decodeBoolean(first);
    rest = fields.slice(1);
  }
  const lengthNode = rest[0];
  if (lengthNode === undefined) return { isCA, pathLength: undefined };
  const bytes = expectUniversal(lengthNode, Tag.INTEGER, 'a pathLenConstraint').content;
  // A path length is a small non-negative integer; anything else is a malformed (or hostile) certificate.
  if (bytes.length !== 1 || (bytes[0] as number) > 0x7f) throw new DerError('bad pathLenConstraint');
  return { isCA, pathLength: bytes[0] as number };
}

/** The SubjectKeyIdentifier: an OCTET STRING. */
function parseKeyIdentifier(extnValue: Uint8Array): string {
  return toHex(expectUniversal(parseDer(extnValue), Tag.OCTET_STRING, 'a KeyIdentifier').content);
}

/** The keyIdentifier [0] of an AuthorityKeyIdentifier, when present. */
function parseAuthorityKeyId(extnValue: Uint8Array): string | undefined {
  const fields = children(expectUniversal(parseDer(extnValue), Tag.SEQUENCE, 'AuthorityKeyIdentifier'), 3);
  const keyId = fields.find((field) => field.tagClass === 2 && field.tagNumber === 0);
  return keyId === undefined ? undefined : toHex(keyId.content);
}

function parseNetscapeCertType(extnValue: Uint8Array): number {
  const bits = expectUniversal(parseDer(extnValue), Tag.BIT_STRING, 'a Netscape cert type').content;
  if (bits.length === 0 || (bits[0] as number) > 7) throw new DerError('bad Netscape cert type');
  return bits[1] ?? 0;
}

/** The distributionPoint [0] of each DistributionPoint, as hex of its DER (RFC 5280 §4.2.1.13). */
function parseCrlDistributionPoints(extnValue: Uint8Array): string[] {
  const points = children(expectUniversal(parseDer(extnValue), Tag.SEQUENCE, 'CRLDistributionPoints'), 64);
  return points.flatMap((point) => {
    const name = children(expectUniversal(point, Tag.SEQUENCE, 'a DistributionPoint'), 3).find(
      (field) => field.tagClass === 2 && field.tagNumber === 0,
    );
    return name === undefined ? [] : [toHex(name.content)];
  });
}

interface Extensions {
  san: SubjectAltNames;
  keyUsage: KeyUsage[] | undefined;
  basicConstraintsCritical: boolean;
  subjectKeyId: string | undefined;
  authorityKeyId: string | undefined;
  netscapeCertType: number | undefined;
  crlDistributionPointNames: string[];
  extKeyUsage: string[] | undefined;
  isCA: boolean;
  pathLength: number | undefined;
  hasNameConstraints: boolean;
  unknownCritical: string[];
}

function parseExtensions(wrapper: DerNode | undefined, limits: ParseLimits): Extensions {
  const result: Extensions = {
    san: noSubjectAltNames,
    keyUsage: undefined,
    extKeyUsage: undefined,
    isCA: false,
    pathLength: undefined,
    hasNameConstraints: false,
    unknownCritical: [],
    basicConstraintsCritical: false,
    subjectKeyId: undefined,
    authorityKeyId: undefined,
    netscapeCertType: undefined,
    crlDistributionPointNames: [],
  };
  if (wrapper === undefined) return result;
  const [sequence, extra] = children(wrapper, 2);
  if (sequence === undefined || extra !== undefined) throw new DerError('bad extensions');
  const seen = new Set<string>();
  for (const extension of children(expectUniversal(sequence, Tag.SEQUENCE, 'Extensions'), MAX_EXTENSIONS)) {
    const fields = children(expectUniversal(extension, Tag.SEQUENCE, 'an Extension'), 3);
    const oid = decodeOid(fields[0] as DerNode);
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (seen.has(oid)) throw new DerError('duplicate extension');
    seen.add(oid);
    if (fields.length < 2) throw new DerError('bad Extension');
    const critical = fields.length === 3 ? decodeBoolean(fields[1] as DerNode) : false;
    const value = expectUniversal(fields[fields.length - 1], Tag.OCTET_STRING, 'extnValue').content;
    switch (oid) {
      case EXT_SUBJECT_ALT_NAME:
        result.san = parseSubjectAltNames(value, limits.maxSubjectAltNames);
        break;
      case EXT_KEY_USAGE:
        result.keyUsage = parseKeyUsage(value);
        break;
      case EXT_EXT_KEY_USAGE:
        result.extKeyUsage = parseExtKeyUsage(value);
        break;
      case EXT_BASIC_CONSTRAINTS:
        ({ isCA: result.isCA, pathLength: result.pathLength } = parseBasicConstraints(value));
        result.basicConstraintsCritical = critical;
        break;
      case EXT_NAME_CONSTRAINTS:
        result.hasNameConstraints = true;
        break;
      case EXT_SUBJECT_KEY_ID:
        result.subjectKeyId = parseKeyIdentifier(value);
        break;
      case EXT_AUTHORITY_KEY_ID:
        result.authorityKeyId = parseAuthorityKeyId(value);
        break;
      case EXT_NETSCAPE_CERT_TYPE:
        result.netscapeCertType = parseNetscapeCertType(value);
        break;
      case EXT_CRL_DISTRIBUTION_POINTS:
        result.crlDistributionPointNames = parseCrlDistributionPoints(value);
        break;
      default:
        break;
    }
    if (critical && (neverCritical.has(oid) || !knownExtensions.has(oid))) result.unknownCritical.push(oid);
  }
  return result;
}

/**
 * Parses a DER certificate. Throws {@link DerError} (or `TooManySubjectAltNamesError`) on anything it cannot read
 * exactly; never returns a partial result.
 */
export function parseCertificate(input: Uint8Array, limits: ParseLimits): ParsedCertificate {
  if (input.length > MAX_CERTIFICATE_BYTES) throw new DerError('certificate too large');
  // Own copy: the caller's buffer may be reused or mutated later.
  const der = new Uint8Array(input);
  const [tbs, signatureAlgorithm, signature, extra] = children(
    expectUniversal(parseDer(der), Tag.SEQUENCE, 'a Certificate'),
    4,
  );
  const signatureAlgorithmOid = decodeOid(
    children(expectUniversal(signatureAlgorithm, Tag.SEQUENCE, 'a signatureAlgorithm'), 2)[0] as DerNode,
  );
  expectUniversal(signature, Tag.BIT_STRING, 'a signature');
  if (extra !== undefined) throw new DerError('bad Certificate');
  const fields = children(expectUniversal(tbs, Tag.SEQUENCE, 'a TBSCertificate'), 10);
  let index = 0;
  let version = 1;
  const versionNode = fields[0];
  // RFC 5280 §4.1.2.1: version [0] EXPLICIT, absent for v1.
  if (versionNode !== undefined && versionNode.tagClass === 2 && versionNode.tagNumber === 0) {
    index += 1;
    const versionBytes = expectUniversal(children(versionNode, 1)[0], Tag.INTEGER, 'a version').content;
    if (versionBytes.length !== 1 || (versionBytes[0] as number) > 2) throw new DerError('bad version');
    version = (versionBytes[0] as number) + 1;
  }
  const serialNumber = parseSerial(fields[index] as DerNode);
  expectUniversal(fields[index + 1], Tag.SEQUENCE, 'a signature AlgorithmIdentifier');
  const issuerNode = fields[index + 2] as DerNode;
  const issuer = parseName(issuerNode);
  const validity = children(expectUniversal(fields[index + 3], Tag.SEQUENCE, 'a Validity'), 2);
  if (validity.length !== 2) throw new DerError('bad Validity');
  const notBefore = parseTime(validity[0] as DerNode);
  const notAfter = parseTime(validity[1] as DerNode);
  const subjectNode = fields[index + 4] as DerNode;
  const subject = parseName(subjectNode);
  const spki = expectUniversal(fields[index + 5], Tag.SEQUENCE, 'a SubjectPublicKeyInfo');
  const [keyAlgorithm, keyParameters] = children(
    expectUniversal(children(spki, 2)[0], Tag.SEQUENCE, 'an AlgorithmIdentifier'),
    2,
  );
  // RFC 5480 §2.1.1: ECParameters MUST be a namedCurve in certificates; explicit parameters hide the curve (CVE-2022-0778)
  const explicitCurve =
    decodeOid(keyAlgorithm as DerNode) === EC_PUBLIC_KEY &&
    (keyParameters === undefined || keyParameters.tagClass !== 0 || keyParameters.tagNumber !== Tag.OID);
  const rest = fields.slice(index + 6);
  for (const field of rest) {
    // RFC 5280 §4.1: only issuerUniqueID [1], subjectUniqueID [2] and extensions [3] may follow.
    if (field.tagClass !== 2 || field.tagNumber < 1 || field.tagNumber > 3) throw new DerError('bad TBSCertificate');
  }
  const extensions = parseExtensions(
    rest.find((field) => field.tagNumber === 3),
    limits,
  );
  const keyUsage = Object.freeze(extensions.keyUsage ?? []);
  const san = extensions.san;
  return Object.freeze({
    der,
    subject,
    issuer,
    san,
    spiffeId: svidSpiffeId({
      san,
      isCA: extensions.isCA,
      keyUsage,
      hasKeyUsageExtension: extensions.keyUsage !== undefined,
    }),
    serialNumber,
    fingerprint256: sha256Hex(der),
    spkiFingerprint256: sha256Hex(spki.encoded),
    notBefore,
    notAfter,
    keyUsage,
    extKeyUsage: Object.freeze(extensions.extKeyUsage ?? []),
    hasExtKeyUsage: extensions.extKeyUsage !== undefined,
    isCA: extensions.isCA,
    unknownCriticalExtensions: Object.freeze(extensions.unknownCritical),
    signatureAlgorithm: signatureAlgorithmOid,
    issuerNameHex: toHex(issuerNode.encoded),
    subjectNameHex: toHex(subjectNode.encoded),
    pathLength: extensions.pathLength,
    hasNameConstraints: extensions.hasNameConstraints,
    version,
    hasKeyUsage: extensions.keyUsage !== undefined,
    basicConstraintsCritical: extensions.basicConstraintsCritical,
    subjectKeyId: extensions.subjectKeyId,
    authorityKeyId: extensions.authorityKeyId,
    netscapeCertType: extensions.netscapeCertType,
    explicitCurve,
    crlDistributionPointNames: Object.freeze(extensions.crlDistributionPointNames),
  });
}
