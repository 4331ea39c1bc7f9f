/**
 * Distinguished names for the development PKI: an RFC 4514 string (most specific RDN first, `+` joins a
 * multi-valued RDN) or an explicit RDN list in certificate (ASN.1) order.
 */
import { KoaMtlsError } from '../errors.js';
import { MalformedHeaderError } from '../identity/proxy/certificate-encodings.js';
import { parseRfc4514 } from '../identity/proxy/dn-string.js';
import { attributeTypeOid } from '../x509/attribute-types.js';

/**
 * One attribute of an RDN given to the development PKI: `[type, value]`, where type is a short name (`CN`, `UID`, …)
 * or a dotted OID. (A certificate's parsed attribute is `DistinguishedNameAttribute` in `koa-mtls`.)
 *
 * @example
 * ```ts
 * import { createCertificateAuthority, type DistinguishedNameAttributeInput } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const uid: DistinguishedNameAttributeInput = ['UID', '42'];
 * const client = await ca.issueClient({ subject: [[['O', 'Example']], [['CN', 'svc'], uid]] });
 * ```
 */
export type DistinguishedNameAttributeInput = readonly [type: string, value: string];

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
export type DistinguishedNameInput = string | readonly (readonly DistinguishedNameAttributeInput[])[];

type JsonRdn = Record<string, { utf8String: string }[]>;

function invalid(message: string): KoaMtlsError {
  return new KoaMtlsError('ERR_PKI_INVALID_INPUT', message);
}

/**
 * Parses an RFC 4514 string into RDNs in certificate order (the string lists the most specific RDN first), with the
 * one RFC 4514 parser; spaces around separators are allowed, as people type them (`CN=svc, O=Acme`).
 */
function parseDistinguishedNameString(text: string): DistinguishedNameAttributeInput[][] {
  if (text.trim() === '') throw invalid('a distinguished name must not be empty');
  let rdns: ReturnType<typeof parseRfc4514>;
  try {
    rdns = parseRfc4514(text, { spaces: 'around-separators' });
  } catch (error) {
    if (!(error instanceof MalformedHeaderError)) throw error;
    throw invalid(`distinguished name "${text}" is not RFC 4514: ${error.message}`);
  }
  return rdns.map((rdn) =>
    rdn.map((attribute): DistinguishedNameAttributeInput => {
      if (attribute.hex) throw invalid(`"#" hex values are not supported in distinguished name "${text}"`);
      return [attribute.oid, attribute.value];
    }),
  );
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
