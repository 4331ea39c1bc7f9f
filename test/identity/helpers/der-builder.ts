/**
 * A tiny DER encoder for hand-made, unsigned certificates: the inputs a real CA would never issue (BMPString,
 * T61String and invalid UTF-8 values, unknown critical extensions, thousands of SANs, malformed lengths).
 */

function encodeLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return [0x80 | bytes.length, ...bytes];
}

export function tlv(tag: number, content: Uint8Array | readonly number[]): Uint8Array {
  const body = Uint8Array.from(content);
  return Uint8Array.from([tag, ...encodeLength(body.length), ...body]);
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => Array.from(part)));
}

export const sequence = (...items: readonly Uint8Array[]) => tlv(0x30, concat(...items));
export const set = (...items: readonly Uint8Array[]) => tlv(0x31, concat(...items));

export function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [a * 40 + b];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128))
      chunk.unshift(0x80 | (value & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, bytes);
}

export const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));
export const printable = (text: string) => tlv(0x13, Buffer.from(text, 'latin1'));
export const bmp = (text: string) => tlv(0x1e, Buffer.from(text, 'utf16le').swap16());

/** One AttributeTypeAndValue per RDN, in certificate order. */
export function name(...attributes: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  return sequence(...attributes.map(([type, value]) => set(sequence(oid(type), value))));
}

export function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(oid(id), ...(critical ? [tlv(0x01, [0xff])] : []), tlv(0x04, value));
}

/** GeneralNames with the given context-tagged names. */
export function subjectAltName(...names: readonly Uint8Array[]): Uint8Array {
  return extension('2.5.29.17', false, sequence(...names));
}

export const dnsName = (value: string | Uint8Array) =>
  tlv(0x82, typeof value === 'string' ? Buffer.from(value, 'latin1') : value);
export const uriName = (value: string) => tlv(0x86, Buffer.from(value, 'latin1'));
export const ipName = (bytes: readonly number[]) => tlv(0x87, bytes);

const utc = (text: string) => tlv(0x17, Buffer.from(text, 'latin1'));

export interface CertificateParts {
  readonly subject?: Uint8Array;
  readonly issuer?: Uint8Array;
  readonly extensions?: readonly Uint8Array[];
  readonly notBefore?: string;
  readonly notAfter?: string;
}

/** An unsigned (garbage signature) v3 certificate. */
export function buildCertificate(parts: CertificateParts = {}): Uint8Array {
  const algorithm = sequence(oid('1.2.840.10045.4.3.2'));
  const spki = sequence(sequence(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), tlv(0x03, [0, 4, 1, 2, 3]));
  const extensions = parts.extensions ?? [];
  const tbs = sequence(
    tlv(0xa0, tlv(0x02, [2])),
    tlv(0x02, [0x00, 0xa1]),
    algorithm,
    parts.issuer ?? name(['2.5.4.3', utf8('Test CA')]),
    sequence(utc(parts.notBefore ?? '250101000000Z'), utc(parts.notAfter ?? '350101000000Z')),
    parts.subject ?? name(['2.5.4.3', utf8('leaf')]),
    spki,
    ...(extensions.length === 0 ? [] : [tlv(0xa3, sequence(...extensions))]),
  );
  return sequence(tbs, algorithm, tlv(0x03, [0, 1, 2, 3]));
}
