/**
 * Certificate revocation lists (RFC 5280 §5), read with the strict DER reader: by `mtlsOptions` (which CA signed
 * each CRL) and by the path verifier (is a certificate of the path revoked, and does this CRL cover it).
 *
 * @module trust/crl
 */
import type { KeyObject } from 'node:crypto';
import { parseName } from '../identity/distinguished-name.js';
import { parseSerial, parseTime } from '../identity/parse-certificate.js';
import type { DistinguishedName } from '../identity/peer-identity.js';
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
import { signatureVerdict, verifySignature } from './algorithms.js';

/** What an IssuingDistributionPoint limits a CRL to (RFC 5280 §5.2.5). Absent extension: everything. */
export interface CrlScope {
  /** Hex of the distributionPoint name DER; a certificate is covered only if its CDP names the same point. */
  readonly distributionPoint: string | undefined;
  readonly onlyUserCerts: boolean;
  readonly onlyCaCerts: boolean;
  /** onlySomeReasons, indirectCRL or onlyContainsAttributeCerts: never a complete CRL for a certificate here. */
  readonly partial: boolean;
}

/** A parsed CRL. */
export interface ParsedCrl {
  readonly scope: CrlScope;
  readonly issuer: DistinguishedName;
  readonly issuerNameHex: string;
  readonly thisUpdate: number;
  /** Epoch ms; a CRL without nextUpdate is refused at startup (RFC 5280 §5.1.2.5: conforming CRLs include it). */
  readonly nextUpdate: number;
  /** Revoked serial numbers, lower-case hex without leading zeros. */
  readonly revoked: ReadonlySet<string>;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
}

function isContext(node: DerNode | undefined, tagNumber: number): boolean {
  return node !== undefined && node.tagClass === 2 && node.tagNumber === tagNumber;
}

function hasCriticalExtension(sequence: DerNode): boolean {
  return children(expectUniversal(sequence, Tag.SEQUENCE, 'Extensions'), 64).some((extension) => {
    const fields = children(expectUniversal(extension, Tag.SEQUENCE, 'an Extension'), 3);
    return fields.length === 3 && fields[1]?.content[0] === 0xff;
  });
}

const ISSUING_DISTRIBUTION_POINT = '2.5.29.28';
const fullScope: CrlScope = Object.freeze({
  distributionPoint: undefined,
  onlyUserCerts: false,
  onlyCaCerts: false,
  partial: false,
});

function contextBoolean(node: DerNode): boolean {
  // IMPLICIT [n] BOOLEAN: the content of a DER BOOLEAN under a context tag.
  if (node.constructed || node.content.length !== 1) throw new DerError('bad IssuingDistributionPoint');
  return node.content[0] === 0xff;
}

function parseIssuingDistributionPoint(extnValue: Uint8Array): CrlScope {
  let scope: CrlScope = { ...fullScope };
  for (const field of children(expectUniversal(parseDer(extnValue), Tag.SEQUENCE, 'IssuingDistributionPoint'), 6)) {
    if (field.tagClass !== 2) throw new DerError('bad IssuingDistributionPoint');
    if (field.tagNumber === 0) scope = { ...scope, distributionPoint: toHex(field.content) };
    else if (field.tagNumber === 1) scope = { ...scope, onlyUserCerts: contextBoolean(field) };
    else if (field.tagNumber === 2) scope = { ...scope, onlyCaCerts: contextBoolean(field) };
    else if (field.tagNumber === 3 || ((field.tagNumber === 4 || field.tagNumber === 5) && contextBoolean(field))) {
      scope = { ...scope, partial: true };
    } else if (field.tagNumber > 5) throw new DerError('bad IssuingDistributionPoint');
  }
  return Object.freeze(scope);
}

/**
 * Reads the crlExtensions. RFC 5280 §5.2: a CRL with an unrecognized critical extension is unusable; the CRL
 * number and AKI MUST be non-critical (§5.2.1, §5.2.3), and a delta CRL (§5.2.4) is not supported, so each of
 * those refuses the CRL rather than letting it be misread.
 */
function parseCrlExtensions(sequence: DerNode): CrlScope {
  let scope = fullScope;
  for (const extension of children(expectUniversal(sequence, Tag.SEQUENCE, 'Extensions'), 64)) {
    const fields = children(expectUniversal(extension, Tag.SEQUENCE, 'an Extension'), 3);
    const oid = decodeOid(fields[0] as DerNode);
    const critical = fields.length === 3 ? decodeBoolean(fields[1] as DerNode) : false;
    const value = expectUniversal(fields[fields.length - 1], Tag.OCTET_STRING, 'extnValue').content;
    if (oid === ISSUING_DISTRIBUTION_POINT) scope = parseIssuingDistributionPoint(value);
    else if (critical) throw new DerError(`critical CRL extension ${oid}`);
  }
  return scope;
}

/**
 * Parses a DER CRL. Throws {@link DerError} when malformed, when it lacks nextUpdate, or carries a critical extension (RFC 5280 §5.2: an unrecognized critical extension
 * makes the CRL unusable; we recognize none, so we refuse rather than misread its scope).
 */
export function parseCrl(der: Uint8Array): ParsedCrl {
  const [tbsNode, algorithmNode, signatureNode, extra] = children(
    expectUniversal(parseDer(der), Tag.SEQUENCE, 'a CertificateList'),
    4,
  );
  if (extra !== undefined) throw new DerError('bad CertificateList');
  const signatureAlgorithm = decodeOid(
    children(expectUniversal(algorithmNode, Tag.SEQUENCE, 'an AlgorithmIdentifier'), 2)[0] as DerNode,
  );
  const signatureBits = expectUniversal(signatureNode, Tag.BIT_STRING, 'a signature').content;
  if (signatureBits[0] !== 0) throw new DerError('bad CRL signature');
  const fields = children(expectUniversal(tbsNode, Tag.SEQUENCE, 'a TBSCertList'), 8);
  let index = fields[0]?.tagClass === 0 && fields[0].tagNumber === Tag.INTEGER ? 1 : 0;
  expectUniversal(fields[index], Tag.SEQUENCE, 'a signature AlgorithmIdentifier');
  const issuer = expectUniversal(fields[index + 1], Tag.SEQUENCE, 'an issuer Name');
  const thisUpdate = parseTime(fields[index + 2] as DerNode);
  const nextNode = fields[index + 3];
  if (nextNode === undefined || nextNode.tagClass !== 0 || nextNode.tagNumber === Tag.SEQUENCE) {
    throw new DerError('CRL without nextUpdate');
  }
  const nextUpdate = parseTime(nextNode);
  index += 4;
  const revoked = new Set<string>();
  const entries = fields[index];
  if (entries !== undefined && entries.tagClass === 0 && entries.tagNumber === Tag.SEQUENCE) {
    for (const entry of children(entries, 1_000_000)) {
      const entryFields = children(expectUniversal(entry, Tag.SEQUENCE, 'a revoked entry'), 3);
      revoked.add(parseSerial(entryFields[0] as DerNode));
      const entryExtensions = entryFields[2];
      if (entryExtensions !== undefined && hasCriticalExtension(entryExtensions)) {
        throw new DerError('critical CRL entry extension');
      }
    }
    index += 1;
  }
  const wrapper = fields[index];
  let scope = fullScope;
  if (isContext(wrapper, 0)) {
    const [extensions, rest] = children(wrapper as DerNode, 2);
    if (extensions === undefined || rest !== undefined) throw new DerError('bad CRL extensions');
    scope = parseCrlExtensions(extensions);
  } else if (wrapper !== undefined) {
    throw new DerError('bad TBSCertList');
  }
  return Object.freeze({
    scope,
    issuer: parseName(issuer),
    issuerNameHex: toHex(issuer.encoded),
    thisUpdate,
    nextUpdate,
    revoked,
    tbs: tbsNode?.encoded as Uint8Array,
    signatureAlgorithm,
    signature: signatureBits.subarray(1),
  });
}

/** Whether `issuerKey` signed the CRL with a strong algorithm. Never throws. */
export function crlSignedBy(crl: ParsedCrl, issuerKey: KeyObject): boolean {
  const verdict = signatureVerdict(crl.signatureAlgorithm);
  return verdict.ok && verifySignature(crl.tbs, crl.signature, verdict.hash, issuerKey);
}
