/**
 * Decoding of the ASN.1 string types that appear in distinguished names and SANs. Each decoder is strict: bytes that
 * are not valid for the declared type throw {@link DerError}, so a certificate with them never becomes a peer.
 */
import { DerError, type DerNode, Tag } from '../x509/der.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf16be = new TextDecoder('utf-16be', { fatal: true, ignoreBOM: true });

function ascii(bytes: Uint8Array, allowed: (byte: number) => boolean, what: string): string {
  for (const byte of bytes) {
    if (!allowed(byte)) throw new DerError(`invalid character in ${what}`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function universalString(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new DerError('bad UniversalString length');
  let text = '';
  for (let i = 0; i < bytes.length; i += 4) {
    const code =
      (((bytes[i] as number) << 24) >>> 0) +
      ((bytes[i + 1] as number) << 16) +
      ((bytes[i + 2] as number) << 8) +
      (bytes[i + 3] as number);
    // UCS-4 code points outside Unicode, and lone surrogates, are not characters.
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new DerError('bad UniversalString character');
    text += String.fromCodePoint(code);
  }
  return text;
}

const printableCharacters = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** Whether a universal tag is one of the string types this decoder reads. */
export function isStringTag(node: DerNode): boolean {
  if (node.tagClass !== 0 || node.constructed) return false;
  return (
    node.tagNumber === Tag.UTF8_STRING ||
    node.tagNumber === Tag.PRINTABLE_STRING ||
    node.tagNumber === Tag.IA5_STRING ||
    node.tagNumber === Tag.T61_STRING ||
    node.tagNumber === Tag.BMP_STRING ||
    node.tagNumber === Tag.UNIVERSAL_STRING ||
    node.tagNumber === Tag.VISIBLE_STRING ||
    node.tagNumber === Tag.NUMERIC_STRING
  );
}

/**
 * Decodes a string value by its universal tag. T61String is read as Latin-1, as OpenSSL does (its real character
 * set, ITU-T T.61, is never used by CAs in practice).
 */
export function decodeString(node: DerNode): string {
  if (!isStringTag(node)) throw new DerError('expected a string type');
  const bytes = node.content;
  let text: string;
  switch (node.tagNumber) {
    case Tag.UTF8_STRING:
      try {
        text = utf8.decode(bytes);
      } catch {
        // RFC 5280 §4.1.2.4: UTF8String must be valid UTF-8; a lossy decode could alias two names.
        throw new DerError('invalid UTF-8');
      }
      break;
    case Tag.BMP_STRING:
      if (bytes.length % 2 !== 0) throw new DerError('bad BMPString length');
      try {
        text = utf16be.decode(bytes);
      } catch {
        throw new DerError('invalid BMPString');
      }
      break;
    case Tag.UNIVERSAL_STRING:
      text = universalString(bytes);
      break;
    case Tag.T61_STRING:
      text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
      break;
    case Tag.PRINTABLE_STRING:
      text = ascii(bytes, (b) => b >= 0x20 && b < 0x7f, 'PrintableString');
      if (!printableCharacters.test(text)) throw new DerError('invalid character in PrintableString');
      break;
    case Tag.NUMERIC_STRING:
      text = ascii(bytes, (b) => b === 0x20 || (b >= 0x30 && b <= 0x39), 'NumericString');
      break;
    case Tag.VISIBLE_STRING:
      text = ascii(bytes, (b) => b >= 0x20 && b < 0x7f, 'VisibleString');
      break;
    default:
      text = ascii(bytes, (b) => b < 0x80, 'IA5String');
  }
  // CVE-2009-2408 (null-prefix certificates): a NUL inside a name makes C-string consumers see a different name.
  if (text.includes('\u0000')) throw new DerError('NUL character in a string');
  return text;
}

/** Decodes an IA5String (SAN dNSName, rfc822Name, URI) whose tag was replaced by an implicit context tag. */
export function decodeIa5(bytes: Uint8Array, what: string): string {
  // RFC 5280 §4.2.1.6: these names are IA5String; an 8-bit byte (e.g. a raw U-label) is invalid, not Latin-1.
  const text = ascii(bytes, (b) => b > 0x00 && b < 0x80, what);
  return text;
}

/** Decodes a UTF8String (an otherName UPN value). */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    const text = utf8.decode(bytes);
    if (text.includes('\u0000')) throw new DerError('NUL character in a string');
    return text;
  } catch (error) {
    if (error instanceof DerError) throw error;
    throw new DerError('invalid UTF-8');
  }
}
