/**
 * Many distinct client certificates, fast. Issuing one through the development PKI takes ~8 ms (a new key pair each),
 * so 100,000 would take a quarter of an hour; a copy of a genuine certificate with the client's index rewritten in its
 * names, a serial of its own and a new signature by the same CA takes ~0.1 ms. Each copy is a valid certificate with
 * its own bytes (its own SHA-256, which is what a server's caches key on); copies share the template's key pair.
 */
import { createHash, sign, X509Certificate } from 'node:crypto';
import { children, DerError, decodeOid, expectUniversal, parseDer, Tag } from '../../src/x509/der.js';

const ecdsaWithSha256 = '1.2.840.10045.4.3.2';

/** One DER TLV with a universal tag (X.690 §8.1: short or long-form length). */
function tlv(tag: number, content: Uint8Array): Buffer {
  const length = content.length;
  const header =
    length < 0x80 ? [tag, length] : length < 0x100 ? [tag, 0x81, length] : [tag, 0x82, length >> 8, length & 0xff];
  return Buffer.concat([Buffer.from(header), content]);
}

function toPem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * A copy of `template` (PEM, signed by `caKey` with ECDSA P-256 / SHA-256) where every occurrence of `from` in the
 * to-be-signed part reads `to` (the same length, so every DER length stays right), with a serial derived from `to`,
 * re-signed by `caKey`.
 */
export function copyCertificate(template: string, from: string, to: string, caKey: string): string {
  if (Buffer.byteLength(from) !== Buffer.byteLength(to)) throw new Error(`${from} and ${to} differ in length`);
  const [tbs, signatureAlgorithm] = children(parseDer(new X509Certificate(template).raw));
  if (tbs === undefined || signatureAlgorithm === undefined) throw new DerError('not a certificate');
  const algorithm = children(expectUniversal(signatureAlgorithm, Tag.SEQUENCE, 'AlgorithmIdentifier'))[0];
  if (algorithm === undefined || decodeOid(algorithm) !== ecdsaWithSha256) {
    throw new Error('the template must be signed with ecdsa-with-SHA256');
  }
  const copy = Buffer.from(tbs.encoded);
  const old = Buffer.from(from);
  for (let at = copy.indexOf(old); at !== -1; at = copy.indexOf(old, at + old.length)) copy.write(to, at);
  // TBSCertificate: [0] version, then the serial INTEGER (RFC 5280 §4.1.2.2): a positive, minimally encoded integer.
  const serial = children(parseDer(copy))[1];
  if (serial === undefined) throw new DerError('no serial number');
  const serialAt = serial.content.byteOffset - copy.byteOffset;
  const digest = createHash('sha256').update(to).digest();
  for (let i = 0; i < serial.content.length; i++) copy[serialAt + i] = digest[i % digest.length] as number;
  copy[serialAt] = ((copy[serialAt] as number) & 0x7f) | 0x01;
  const signature = sign('sha256', copy, caKey);
  const bits = Buffer.concat([Buffer.from([0]), signature]);
  return toPem(tlv(0x30, Buffer.concat([copy, signatureAlgorithm.encoded, tlv(Tag.BIT_STRING, bits)])));
}
