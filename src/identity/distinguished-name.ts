/**
 * X.501 names read from DER into the lossless {@link DistinguishedName} of the contract: RDNs in certificate order,
 * multi-valued RDNs and repeated attributes kept (CVE-2021-44533), and an RFC 4514 string form.
 */
import { attributeShortName, attributeTypeOid } from '../x509/attribute-types.js';
import { children, DerError, type DerNode, decodeOid, expectUniversal, Tag, toHex } from '../x509/der.js';
import { decodeString, isStringTag } from './asn1-strings.js';
import type { DistinguishedName, DistinguishedNameAttribute } from './peer-identity.js';

/** At most this many RDNs and attributes per RDN: real names have a handful. */
const MAX_RDNS = 64;
const MAX_ATTRIBUTES_PER_RDN = 16;

export interface ParsedAttribute extends DistinguishedNameAttribute {
  /** True when the value is not a string type and `value` is RFC 4514 `#hex` of its DER. */
  readonly hex: boolean;
}

// RFC 4514 §2.4: escape these anywhere in a value.
const escapeAnywhere = /["+,;<>\\]/;

function escapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i += 1) {
    const char = value[i] as string;
    const code = char.charCodeAt(0);
    if (escapeAnywhere.test(char)) {
      out += `\\${char}`;
    } else if ((i === 0 && (char === ' ' || char === '#')) || (i === value.length - 1 && char === ' ')) {
      // RFC 4514 §2.4: a leading space or '#', and a trailing space, are escaped.
      out += `\\${char}`;
    } else if (code < 0x20 || code === 0x7f) {
      // Control characters are written as hex pairs so that the string form cannot be forged with line breaks.
      out += `\\${code.toString(16).padStart(2, '0')}`;
    } else {
      out += char;
    }
  }
  return out;
}

function formatAttribute(attribute: ParsedAttribute): string {
  const type = attribute.shortName ?? attribute.oid;
  return `${type}=${attribute.hex ? attribute.value : escapeValue(attribute.value)}`;
}

/** Builds the frozen {@link DistinguishedName} from RDNs in certificate order. */
export function createName(rdns: readonly (readonly ParsedAttribute[])[]): DistinguishedName {
  const text = rdns
    .slice()
    .reverse()
    .map((rdn) => rdn.map(formatAttribute).join('+'))
    .join(',');
  const publicRdns = Object.freeze(
    rdns.map((rdn) =>
      Object.freeze(
        rdn.map((attribute) =>
          Object.freeze({ oid: attribute.oid, shortName: attribute.shortName, value: attribute.value }),
        ),
      ),
    ),
  );
  const name: DistinguishedName = {
    rdns: publicRdns,
    get(nameOrOid: string): readonly string[] {
      const oid = attributeTypeOid(nameOrOid);
      if (oid === undefined) return Object.freeze([]);
      return Object.freeze(publicRdns.flatMap((rdn) => rdn.filter((a) => a.oid === oid).map((a) => a.value)));
    },
    toString: () => text,
  };
  return Object.freeze(Object.assign(Object.create(null) as object, name)) as DistinguishedName;
}

function parseAttribute(node: DerNode): ParsedAttribute {
  const [typeNode, valueNode, extra] = children(expectUniversal(node, Tag.SEQUENCE, 'an AttributeTypeAndValue'), 3);
  if (typeNode === undefined || valueNode === undefined || extra !== undefined) {
    throw new DerError('bad AttributeTypeAndValue');
  }
  const oid = decodeOid(typeNode);
  const shortName = attributeShortName(oid);
  if (isStringTag(valueNode)) return { oid, shortName, value: decodeString(valueNode), hex: false };
  // RFC 4514 §2.4: a value that is not a string is written as '#' and the hex of its BER/DER encoding.
  return { oid, shortName, value: `#${toHex(valueNode.encoded)}`, hex: true };
}

/** Reads an X.501 `Name` (RDNSequence). Throws {@link DerError} on anything malformed. */
export function parseName(node: DerNode): DistinguishedName {
  const rdnNodes = children(expectUniversal(node, Tag.SEQUENCE, 'a Name'), MAX_RDNS);
  const rdns = rdnNodes.map((rdnNode) => {
    const attributes = children(expectUniversal(rdnNode, Tag.SET, 'an RDN'), MAX_ATTRIBUTES_PER_RDN);
    // X.501: a RelativeDistinguishedName is SET SIZE (1..MAX).
    if (attributes.length === 0) throw new DerError('empty RDN');
    return attributes.map(parseAttribute);
  });
  return createName(rdns);
}
