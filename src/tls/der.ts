/**
 * The few DER reads the TLS checks need, done synchronously (WebCrypto-based parsers are async, and `mtlsOptions`
 * must throw at startup): the outer `SEQUENCE { tbs, signatureAlgorithm, signatureValue }` of an X.509 certificate
 * or CRL (RFC 5280 §4.1, §5.1), and the algorithm OID.
 *
 * @module tls/der
 */

/** One TLV element: where its contents start and end, and the whole element's extent. */
interface Element {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** The signed parts of a certificate or CRL. */
export interface SignedParts {
  /** The DER of `tbsCertificate` / `tbsCertList`, tag and length included (what the signature covers). */
  readonly tbs: Buffer;
  /** The signature algorithm OID, dotted. */
  readonly signatureOid: string;
  /** The signature bits (BIT STRING contents without the unused-bits octet). */
  readonly signature: Buffer;
}

function readElement(der: Buffer, offset: number, limit: number): Element {
  // X.690 §8.1.2: single-octet tags are all RFC 5280 structures use at this level
  if (offset + 2 > limit) throw new RangeError('DER element truncated');
  const tag = der[offset] as number;
  let length = der[offset + 1] as number;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    // X.690 §10.1 (DER): definite lengths only, at most 4 length octets for anything a certificate holds
    if (octets === 0 || octets > 4 || contentStart + octets > limit) throw new RangeError('DER length invalid');
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + (der[contentStart + i] as number);
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) throw new RangeError('DER element overruns its parent');
  return { tag, start: offset, contentStart, end };
}

function decodeOid(bytes: Buffer): string {
  if (bytes.length === 0) throw new RangeError('empty OID');
  const first = bytes[0] as number;
  const arcs: number[] = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40];
  let value = 0;
  for (let i = 1; i < bytes.length; i += 1) {
    const byte = bytes[i] as number;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

/**
 * Splits a DER certificate or CRL into the bytes its signature covers, the algorithm OID and the signature.
 * Throws a `RangeError` on anything that is not `SEQUENCE { SEQUENCE, SEQUENCE { OID … }, BIT STRING }`.
 */
export function signedParts(der: Buffer): SignedParts {
  const outer = readElement(der, 0, der.length);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new RangeError('not a DER SEQUENCE');
  const tbs = readElement(der, outer.contentStart, outer.end);
  const algorithm = readElement(der, tbs.end, outer.end);
  const bits = readElement(der, algorithm.end, outer.end);
  if (tbs.tag !== 0x30 || algorithm.tag !== 0x30 || bits.tag !== 0x03 || bits.end !== outer.end) {
    throw new RangeError('not a signed X.509 structure');
  }
  const oid = readElement(der, algorithm.contentStart, algorithm.end);
  if (oid.tag !== 0x06) throw new RangeError('signature algorithm has no OID');
  return {
    tbs: der.subarray(tbs.start, tbs.end),
    signatureOid: decodeOid(der.subarray(oid.contentStart, oid.end)),
    signature: der.subarray(bits.contentStart + 1, bits.end),
  };
}
