/**
 * PKCS#12 bundles for browsers and for clients that want one file (`curl --cert-type P12`), made with node-forge.
 */
import forge from 'node-forge';
import { KoaMtlsError } from '../errors.js';
import type { IssuedCertificate } from './certificate-authority.js';

/**
 * Options of {@link toPkcs12}.
 *
 * @example
 * ```ts
 * import { createCertificateAuthority, type Pkcs12Options, toPkcs12 } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const options: Pkcs12Options = { password: 'changeit', friendlyName: 'dev client (koa-mtls)' };
 * const bundle = toPkcs12(await ca.issueClient({ keyAlgorithm: 'rsa-2048' }), options);
 * ```
 */
export interface Pkcs12Options {
  /** The import password. Browsers refuse an empty one. */
  readonly password: string;
  /** The name a browser shows. Default `koa-mtls client`. */
  readonly friendlyName?: string;
}

/**
 * Packs a certificate, its chain and its private key into a PKCS#12 (`.p12`) file, AES-256 encrypted with a SHA-256 MAC.
 * node-forge reads only RSA keys, so the certificate must have been issued with an `rsa-*` key algorithm.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { createCertificateAuthority, toPkcs12 } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const client = await ca.issueClient({ keyAlgorithm: 'rsa-2048' });
 * writeFileSync('client.p12', toPkcs12(client, { password: 'changeit' }), { mode: 0o600 });
 * ```
 */
export function toPkcs12(issued: IssuedCertificate, options: Pkcs12Options): Buffer {
  let key: forge.pki.rsa.PrivateKey;
  let chain: forge.pki.Certificate[];
  try {
    key = forge.pki.privateKeyFromPem(issued.key) as forge.pki.rsa.PrivateKey;
    chain = (issued.chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) =>
      forge.pki.certificateFromPem(pem),
    );
  } catch (cause) {
    throw new KoaMtlsError(
      'ERR_PKI_INVALID_INPUT',
      'PKCS#12 export needs an RSA certificate and key (node-forge cannot read EC keys); issue it with an rsa-* key algorithm',
      { cause },
    );
  }
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, chain, options.password, {
    algorithm: 'aes256',
    friendlyName: options.friendlyName ?? 'koa-mtls client',
  });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}
