/**
 * The one RFC 4514 string parser: the `Subject` a proxy claims in XFCC (Envoy prints it in RFC 2253/4514 form) and
 * the subjects an operator gives the development PKI. Strict: unknown short names, unescaped specials, bad hex pairs
 * and invalid UTF-8 are refused, so one string can only mean one name (CVE-2021-44533). The one relaxation, for text
 * a person typed (`spaces: 'around-separators'`), is the RFC 1779 habit of spaces around `,`, `+` and `=`.
 */

import { attributeShortName, attributeTypeOid } from '../../x509/attribute-types.js';
import { decodeUtf8 } from '../asn1-strings.js';
import { createName, type ParsedAttribute } from '../distinguished-name.js';
import type { DistinguishedName } from '../peer-identity.js';
import { MalformedHeaderError } from './certificate-encodings.js';

// RFC 4514 §3: characters that must be escaped in a value.
const specials = new Set(['"', '+', ',', ';', '<', '>', '\\']);
const escapable = new Set([...specials, ' ', '#', '=']);
const hexPair = /^[0-9A-Fa-f]{2}$/;

/** How the parser treats spaces around separators. */
export interface Rfc4514Options {
  /**
   * `'escaped'` (default, RFC 4514): a leading or trailing space of a value must be escaped, and a type never has
   * spaces. `'around-separators'`: unescaped spaces before a type, around `=`, and at the end of a value are ignored
   * (`CN=svc, O=Acme` reads as `CN=svc,O=Acme`).
   */
  readonly spaces?: 'escaped' | 'around-separators';
}

class Scanner {
  index = 0;
  constructor(
    readonly text: string,
    readonly lenient: boolean,
  ) {}
  skipSpaces(): void {
    if (!this.lenient) return;
    while (this.peek() === ' ') this.index += 1;
  }
  peek(): string | undefined {
    return this.text[this.index];
  }
  done(): boolean {
    return this.index >= this.text.length;
  }
}

function parseType(scanner: Scanner): { oid: string; shortName: string | undefined } {
  scanner.skipSpaces();
  const start = scanner.index;
  while (!scanner.done() && scanner.peek() !== '=') scanner.index += 1;
  const typed = scanner.text.slice(start, scanner.index);
  const type = scanner.lenient ? typed.trimEnd() : typed;
  if (scanner.peek() !== '=') throw new MalformedHeaderError('expected "=" in a DN');
  scanner.index += 1;
  scanner.skipSpaces();
  const oid = /^[A-Za-z][A-Za-z0-9-]*$|^[0-2](\.(0|[1-9][0-9]*))+$/.test(type) ? attributeTypeOid(type) : undefined;
  if (oid === undefined) throw new MalformedHeaderError('unknown attribute type in a DN');
  return { oid, shortName: attributeShortName(oid) };
}

function parseValue(scanner: Scanner): { value: string; hex: boolean } {
  if (scanner.peek() === '#') {
    const start = scanner.index;
    scanner.index += 1;
    while (!scanner.done() && /[0-9A-Fa-f]/.test(scanner.peek() as string)) scanner.index += 1;
    const value = scanner.text.slice(start, scanner.index).toLowerCase();
    if (value.length < 3 || value.length % 2 === 0) throw new MalformedHeaderError('bad #hex value in a DN');
    return { value, hex: true };
  }
  const bytes: number[] = [];
  let lastEscapedAt = -1;
  while (!scanner.done()) {
    // One code point, not one UTF-16 unit: a surrogate pair encoded alone would become two U+FFFD (found by fuzzing).
    const char = String.fromCodePoint(scanner.text.codePointAt(scanner.index) as number);
    if (char === ',' || char === '+') break;
    scanner.index += char.length;
    if (char === '\\') {
      const next = scanner.text.slice(scanner.index, scanner.index + 2);
      if (hexPair.test(next)) {
        bytes.push(Number.parseInt(next, 16));
        scanner.index += 2;
      } else if (escapable.has(next[0] ?? '')) {
        bytes.push((next[0] as string).charCodeAt(0));
        scanner.index += 1;
      } else {
        throw new MalformedHeaderError('bad escape in a DN');
      }
      lastEscapedAt = bytes.length;
      continue;
    }
    // RFC 4514 §2.4: these must be escaped; NUL is never a character of a name.
    if (specials.has(char) || char === '\u0000') throw new MalformedHeaderError('unescaped special character in a DN');
    if (bytes.length === 0 && (char === ' ' || char === '#')) throw new MalformedHeaderError('unescaped leading space');
    bytes.push(...Buffer.from(char, 'utf8'));
  }
  if (scanner.lenient) {
    while (bytes.length > lastEscapedAt && bytes.at(-1) === 0x20) bytes.pop();
  } else if (bytes.length > 0 && bytes.at(-1) === 0x20 && lastEscapedAt !== bytes.length) {
    throw new MalformedHeaderError('unescaped trailing space in a DN');
  }
  let value: string;
  try {
    // The certificate reader's decoder: it keeps a leading U+FEFF, where a default TextDecoder strips it as a BOM
    // (so `CN=\uFEFFadmin` would have read as `CN=admin`; found by fuzzing), and it refuses NUL.
    value = decodeUtf8(Uint8Array.from(bytes));
  } catch {
    throw new MalformedHeaderError('invalid UTF-8 or NUL in a DN');
  }
  return { value, hex: false };
}

/**
 * Parses an RFC 4514 DN string (most specific RDN first) into RDNs in certificate order: `[]` for `''`, at most 64
 * RDNs of at most 16 attributes. Throws {@link MalformedHeaderError}.
 */
export function parseRfc4514(text: string, options: Rfc4514Options = {}): ParsedAttribute[][] {
  const scanner = new Scanner(text, options.spaces === 'around-separators');
  const rdns: ParsedAttribute[][] = [];
  if (text === '') return rdns;
  for (;;) {
    const rdn: ParsedAttribute[] = [];
    for (;;) {
      const type = parseType(scanner);
      rdn.push({ ...type, ...parseValue(scanner) });
      scanner.skipSpaces();
      // Only a separator may follow a value (a `#hex` value ends at its first non-hex character)
      if (!scanner.done() && scanner.peek() !== ',' && scanner.peek() !== '+') {
        throw new MalformedHeaderError('expected "," or "+" after a value in a DN');
      }
      if (rdn.length > 16) throw new MalformedHeaderError('too many attributes in an RDN');
      if (scanner.peek() !== '+') break;
      scanner.index += 1;
    }
    rdns.push(rdn);
    if (rdns.length > 64) throw new MalformedHeaderError('too many RDNs');
    if (scanner.done()) break;
    scanner.index += 1; // the ',' that ended the value
  }
  return rdns.reverse();
}

/** Parses an RFC 4514 DN string (most specific RDN first), strictly, into a {@link DistinguishedName}. */
export function parseDistinguishedNameString(text: string): DistinguishedName {
  return createName(parseRfc4514(text));
}
