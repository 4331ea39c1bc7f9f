/**
 * Certificate revocation lists (RFC 5280 §5) for app-side re-verification of forwarded certificates: parsed once at
 * startup with the strict DER reader; a CRL's signature is checked against the issuer found in each chain.
 */
import { type KeyObject, verify } from 'node:crypto';
import { children, DerError, type DerNode, decodeOid, expectUniversal, parseDer, Tag, toHex } from '../der.js';
import { parseSerial, parseTime } from '../parse-certificate.js';

/** A parsed CRL. */
export interface ParsedCrl {
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

const hashBySignatureOid: ReadonlyMap<string, string | null> = new Map([
  ['1.2.840.10045.4.3.2', 'sha256'],
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
  ['1.2.840.113549.1.1.11', 'sha256'],
  ['1.2.840.113549.1.1.12', 'sha384'],
  ['1.2.840.113549.1.1.13', 'sha512'],
  ['1.3.101.112', null],
  ['1.3.101.113', null],
]);

function isContext(node: DerNode | undefined, tagNumber: number): boolean {
  return node !== undefined && node.tagClass === 2 && node.tagNumber === tagNumber;
}

function hasCriticalExtension(sequence: DerNode): boolean {
  return children(expectUniversal(sequence, Tag.SEQUENCE, 'Extensions'), 64).some((extension) => {
    const fields = children(expectUniversal(extension, Tag.SEQUENCE, 'an Extension'), 3);
    return fields.length === 3 && fields[1]?.content[0] === 0xff;
  });
}

/**
 * Parses a DER CRL. Throws {@link DerError} when malformed, when it lacks nextUpdate, uses a signature algorithm
 * this module cannot verify, or carries a critical extension (RFC 5280 §5.2: an unrecognized critical extension
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
  if (!hashBySignatureOid.has(signatureAlgorithm)) throw new DerError('unsupported CRL signature algorithm');
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
  if (isContext(wrapper, 0)) {
    const [extensions, rest] = children(wrapper as DerNode, 2);
    if (extensions === undefined || rest !== undefined) throw new DerError('bad CRL extensions');
    if (hasCriticalExtension(extensions)) throw new DerError('critical CRL extension');
  } else if (wrapper !== undefined) {
    throw new DerError('bad TBSCertList');
  }
  return Object.freeze({
    issuerNameHex: toHex(issuer.encoded),
    thisUpdate,
    nextUpdate,
    revoked,
    tbs: tbsNode?.encoded as Uint8Array,
    signatureAlgorithm,
    signature: signatureBits.subarray(1),
  });
}

/** Whether `issuerKey` signed the CRL. Never throws. */
export function crlSignedBy(crl: ParsedCrl, issuerKey: KeyObject): boolean {
  try {
    return verify(hashBySignatureOid.get(crl.signatureAlgorithm) ?? null, crl.tbs, issuerKey, crl.signature);
  } catch {
    return false;
  }
}
