/**
 * The subjectAltName extension (RFC 5280 §4.2.1.6) read from DER into typed lists: never by splitting Node's
 * `subjectaltname` string (CVE-2021-44532), IPs in canonical text (RFC 5952), otherNames with their OID.
 */

import { children, DerError, type DerNode, decodeOid, expectUniversal, parseDer, Tag, toHex } from '../x509/der.js';
import { decodeIa5, decodeString, decodeUtf8, isStringTag } from './asn1-strings.js';
import type { OtherName, SubjectAltNames } from './peer-identity.js';

/** Microsoft User Principal Name otherName. */
export const UPN_OID = '1.3.6.1.4.1.311.20.2.3';

/** The SAN list was longer than the configured bound. */
export class TooManySubjectAltNamesError extends Error {
  override readonly name = 'TooManySubjectAltNamesError';
}

/**
 * Formats a 16-byte IPv6 address per RFC 5952 §4: lower-case hex, no leading zeros, the longest run (≥ 2) of zero
 * groups compressed to `::` (the first such run on a tie), and IPv4-mapped addresses as `::ffff:a.b.c.d` (§5).
 */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${Array.from(bytes.subarray(12, 16)).join('.')}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start += 1) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length += 1;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length === 16) return formatIpv6(bytes);
  // RFC 5280 §4.2.1.6: 8 and 32 bytes (address + mask) are name-constraint forms, not valid in a SAN.
  throw new DerError('bad iPAddress length');
}

/**
 * A name with a control character (C0, DEL or C1) is an injection — a CR/LF that splits a log line or a header into a
 * second "entry" — never a name: RFC 5280 §4.2.1.6 makes dNSName, rfc822Name and URI printable IA5 text (RFC 3986 §2
 * has no control characters either), and no UPN or string otherName needs one. The whole certificate is refused.
 */
const CONTROL_CHARACTER = /\p{Cc}/u;

function withoutControlCharacters(value: string, what: string): string {
  if (CONTROL_CHARACTER.test(value)) throw new DerError(`control character in ${what}`);
  return value;
}

function parseOtherName(node: DerNode): OtherName {
  const [typeNode, wrapper, extra] = children(node, 3);
  if (typeNode === undefined || wrapper === undefined || extra !== undefined) throw new DerError('bad otherName');
  const oid = decodeOid(typeNode);
  // RFC 5280: value [0] EXPLICIT ANY DEFINED BY type-id.
  if (wrapper.tagClass !== 2 || wrapper.tagNumber !== 0 || !wrapper.constructed) throw new DerError('bad otherName');
  const inner = parseDer(wrapper.content);
  if (oid === UPN_OID) {
    // [MS-WCCE]: a UPN is a UTF8String.
    const upn = decodeUtf8(expectUniversal(inner, Tag.UTF8_STRING, 'a UPN UTF8String').content);
    return { oid, value: withoutControlCharacters(upn, 'a UPN') };
  }
  if (!isStringTag(inner)) return { oid, value: toHex(inner.encoded) };
  return { oid, value: withoutControlCharacters(decodeString(inner), 'an otherName') };
}

/** Reads the extnValue of a subjectAltName extension. Throws on malformed input or more than `limit` names. */
export function parseSubjectAltNames(extnValue: Uint8Array, limit: number): SubjectAltNames {
  const sequence = expectUniversal(parseDer(extnValue), Tag.SEQUENCE, 'GeneralNames');
  let names: DerNode[];
  try {
    names = children(sequence, limit);
  } catch (error) {
    if (error instanceof DerError && error.message === 'too many elements') {
      throw new TooManySubjectAltNamesError(`more than ${limit} subject alternative names`);
    }
    throw error;
  }
  // RFC 5280: GeneralNames ::= SEQUENCE SIZE (1..MAX).
  if (names.length === 0) throw new DerError('empty subjectAltName');
  const dns: string[] = [];
  const uri: string[] = [];
  const email: string[] = [];
  const ip: string[] = [];
  const upn: string[] = [];
  const otherName: OtherName[] = [];
  for (const name of names) {
    if (name.tagClass !== 2) throw new DerError('bad GeneralName tag');
    switch (name.tagNumber) {
      case 0: {
        const other = parseOtherName(name);
        otherName.push(Object.freeze(other));
        if (other.oid === UPN_OID) upn.push(other.value);
        break;
      }
      case 1:
        email.push(withoutControlCharacters(decodeIa5(name.content, 'rfc822Name'), 'rfc822Name'));
        break;
      case 2:
        dns.push(withoutControlCharacters(decodeIa5(name.content, 'dNSName'), 'dNSName'));
        break;
      case 6:
        uri.push(
          withoutControlCharacters(decodeIa5(name.content, 'uniformResourceIdentifier'), 'uniformResourceIdentifier'),
        );
        break;
      case 7:
        ip.push(formatIp(name.content));
        break;
      // x400Address, directoryName, ediPartyName, registeredID: valid, but not part of the typed identity.
      case 3:
      case 4:
      case 5:
      case 8:
        break;
      default:
        throw new DerError('bad GeneralName tag');
    }
  }
  return Object.freeze({
    dns: Object.freeze(dns),
    uri: Object.freeze(uri),
    email: Object.freeze(email),
    ip: Object.freeze(ip),
    upn: Object.freeze(upn),
    otherName: Object.freeze(otherName),
  });
}

/** The SAN value of a certificate without the extension. */
export const noSubjectAltNames: SubjectAltNames = Object.freeze({
  dns: Object.freeze([]),
  uri: Object.freeze([]),
  email: Object.freeze([]),
  ip: Object.freeze([]),
  upn: Object.freeze([]),
  otherName: Object.freeze([]),
});
