/**
 * Distinguished names for the development PKI: an RFC 4514 string (most specific RDN first, `+` joins a
 * multi-valued RDN) or an explicit RDN list in certificate (ASN.1) order.
 */
import { KoaMtlsError } from '../errors.js';
import { attributeTypeOid } from '../x509/attribute-types.js';

/**
 * One attribute of an RDN: `[type, value]`, where type is a short name (`CN`, `UID`, …) or a dotted OID.
 *
 * @example
 * ```ts
 * import { createCertificateAuthority, type DistinguishedNameAttribute } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const uid: DistinguishedNameAttribute = ['UID', '42'];
 * const client = await ca.issueClient({ subject: [[['O', 'Example']], [['CN', 'svc'], uid]] });
 * ```
 */
export type DistinguishedNameAttribute = readonly [type: string, value: string];

/**
 * A distinguished name: `'CN=svc+UID=42,O=Acme'` (RFC 4514 order) or
 * `[[['O', 'Acme']], [['CN', 'svc'], ['UID', '42']]]` (certificate order, one inner list per RDN).
 *
 * @example
 * ```ts
 * import { createCertificateAuthority, type DistinguishedNameInput } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const subject: DistinguishedNameInput = 'CN=svc+UID=42,O=Example'; // RFC 4514: most specific RDN first
 * const client = await ca.issueClient({ subject });
 * ```
 */
export type DistinguishedNameInput = string | readonly (readonly DistinguishedNameAttribute[])[];

type JsonRdn = Record<string, { utf8String: string }[]>;

function invalid(message: string): KoaMtlsError {
  return new KoaMtlsError('ERR_PKI_INVALID_INPUT', message);
}

/** Splits on `separator` where it is not escaped by a backslash (RFC 4514 §2.4). */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '\\' && i + 1 < text.length) {
      current += char + (text[i + 1] as string);
      i++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeValue(value: string): string {
  return value.replace(/\\([0-9a-fA-F]{2}|.)/g, (_, escaped: string) =>
    escaped.length === 2 ? String.fromCharCode(Number.parseInt(escaped, 16)) : escaped,
  );
}

/** Parses an RFC 4514 string into RDNs in certificate order (the string lists the most specific RDN first). */
function parseDistinguishedNameString(text: string): DistinguishedNameAttribute[][] {
  if (text.trim() === '') throw invalid('a distinguished name must not be empty');
  const rdns = splitUnescaped(text, ',').map((rdn) =>
    splitUnescaped(rdn, '+').map((attribute): DistinguishedNameAttribute => {
      const eq = attribute.indexOf('=');
      if (eq <= 0) throw invalid(`"${attribute.trim()}" is not TYPE=value in distinguished name "${text}"`);
      return [attribute.slice(0, eq).trim(), unescapeValue(attribute.slice(eq + 1).trim())];
    }),
  );
  return rdns.reverse();
}

/**
 * Converts a {@link DistinguishedNameInput} to `@peculiar/x509`'s JSON name, keyed by OID. Values go in as explicit
 * UTF8Strings: given as plain strings, @peculiar/x509 would read `\`, `"` and a leading `#` as string syntax.
 */
export function toJsonName(input: DistinguishedNameInput): JsonRdn[] {
  const rdns = typeof input === 'string' ? parseDistinguishedNameString(input) : input;
  if (rdns.length === 0) throw invalid('a distinguished name needs at least one RDN');
  return rdns.map((rdn) => {
    if (rdn.length === 0) throw invalid('an RDN needs at least one attribute');
    const json: JsonRdn = {};
    for (const [type, value] of rdn) {
      const oid = attributeTypeOid(type);
      if (oid === undefined)
        throw invalid(`unknown attribute type "${type}" (use a short name like CN or a dotted OID)`);
      json[oid] ??= [];
      json[oid].push({ utf8String: value });
    }
    return json;
  });
}
