/**
 * Decoders for the ways proxies put certificates in headers: PEM (line breaks possibly replaced by spaces, as
 * Apache and some HAProxy setups do), URL-encoded PEM (nginx `$ssl_client_escaped_cert`, Envoy XFCC `Cert=`),
 * and base64 DER (HAProxy `ssl_c_der,base64`, Caddy `certificate_der_base64`, Traefik ≥ 2.9.4). Every decoder is
 * strict and throws {@link MalformedHeaderError}; nothing is guessed.
 */

/** A forwarded-certificate header that cannot be decoded exactly. The message is for operators only. */
export class MalformedHeaderError extends Error {
  override readonly name = 'MalformedHeaderError';
}

/**
 * How a header encodes its certificate.
 *
 * @example
 * ```ts
 * import type { CertificateEncoding, HeaderSource } from 'koa-mtls';
 *
 * // HAProxy: http-request set-header X-SSL-Client-DER %[ssl_c_der,base64]
 * const encoding: CertificateEncoding = 'base64-der';
 * const haproxy: HeaderSource = { type: 'header', header: 'x-ssl-client-der', encoding };
 * ```
 */
export type CertificateEncoding = 'pem' | 'url-pem' | 'base64-der';

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;
const pemBlock = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;

/**
 * Decodes standard base64, canonical form only: the standard alphabet, `=` padding to a multiple of 4, zero pad bits.
 * Exactly one text then names each byte string, so no two header values decode to one certificate.
 */
export function decodeBase64(text: string): Uint8Array {
  // RFC 4648 §3.3: characters outside the alphabet are an error, not something to skip.
  if (text.length === 0 || text.length % 4 !== 0 || !base64Pattern.test(text)) {
    throw new MalformedHeaderError('invalid base64');
  }
  const bytes = Buffer.from(text, 'base64');
  // RFC 4648 §3.2 (padding required) and §3.5 (pad bits zero): the text must be the one canonical encoding.
  if (bytes.toString('base64') !== text) throw new MalformedHeaderError('non-canonical base64');
  return new Uint8Array(bytes);
}

/** All CERTIFICATE blocks of a PEM text, in order. Anything but blocks and whitespace is an error. */
export function decodePemCertificates(text: string, maxCertificates: number): Uint8Array[] {
  const certificates: Uint8Array[] = [];
  let rest = text;
  for (const match of text.matchAll(pemBlock)) {
    if (certificates.length >= maxCertificates) throw new MalformedHeaderError('too many certificates');
    certificates.push(decodeBase64((match[1] as string).replace(/\s+/g, '')));
    rest = rest.replace(match[0], '');
  }
  if (certificates.length === 0 || rest.trim() !== '') throw new MalformedHeaderError('invalid PEM');
  return certificates;
}

/** `decodeURIComponent` that reports malformed escapes as a malformed header. */
export function urlDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new MalformedHeaderError('invalid URL encoding');
  }
}

/** Decodes a header value holding exactly one certificate. */
export function decodeCertificate(value: string, encoding: CertificateEncoding): Uint8Array {
  const text = value.trim();
  if (encoding === 'base64-der') return decodeBase64(text);
  const pem = encoding === 'url-pem' ? urlDecode(text) : text;
  const [leaf, extra] = decodePemCertificates(pem, 2);
  if (leaf === undefined || extra !== undefined) throw new MalformedHeaderError('expected exactly one certificate');
  return leaf;
}
