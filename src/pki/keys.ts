/**
 * Key pairs for the development PKI, made with Node's WebCrypto. ECDSA P-256 is the default; RSA-1024 exists
 * only so tests can prove that weak keys are refused.
 */
import { createPrivateKey } from 'node:crypto';
import { KoaMtlsError } from '../errors.js';
import {
  type Algorithm,
  type CryptoKey,
  type CryptoKeyPair,
  type EcdsaParams,
  type EcKeyGenParams,
  type EcKeyImportParams,
  type RsaHashedImportParams,
  type RsaHashedKeyGenParams,
  subtle,
  x509,
} from '../x509/runtime.js';

/**
 * Key algorithms the development PKI can make. `rsa-1024` is deliberately weak, for negative tests.
 *
 * @example
 * ```ts
 * import { createCertificateAuthority, type KeyAlgorithm, toPkcs12 } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const keyAlgorithm: KeyAlgorithm = 'rsa-2048'; // PKCS#12 export needs an RSA key
 * const bundle = toPkcs12(await ca.issueClient({ keyAlgorithm }), { password: 'changeit' });
 * ```
 */
export type KeyAlgorithm = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'rsa-1024';

/**
 * Every {@link KeyAlgorithm}, for option validation.
 *
 * @example
 * ```ts
 * import { type KeyAlgorithm, keyAlgorithms } from 'koa-mtls/pki';
 *
 * const isKeyAlgorithm = (value: string): value is KeyAlgorithm => (keyAlgorithms as readonly string[]).includes(value);
 * ```
 */
export const keyAlgorithms: readonly KeyAlgorithm[] = [
  'ec-p256',
  'ec-p384',
  'rsa-2048',
  'rsa-3072',
  'rsa-4096',
  'rsa-1024',
];

/**
 * Hash used for signatures. `SHA-1` exists only so tests can prove that weak signatures are refused.
 *
 * @example
 * ```ts
 * import { createCertificateAuthority, type SignatureHash } from 'koa-mtls/pki';
 *
 * const ca = await createCertificateAuthority();
 * const weak: SignatureHash = 'SHA-1'; // for a negative test: the server must refuse this client
 * const client = await ca.issueClient({ signatureHash: weak });
 * ```
 */
export type SignatureHash = 'SHA-256' | 'SHA-384' | 'SHA-512' | 'SHA-1';

type KeyParams = RsaHashedKeyGenParams | EcKeyGenParams;

function keyParams(algorithm: KeyAlgorithm): KeyParams {
  switch (algorithm) {
    case 'ec-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ec-p384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    default:
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: Number(algorithm.slice(4)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
  }
}

/** Generates a key pair usable for signing. */
export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(keyParams(algorithm), true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** The WebCrypto algorithm that signs with `key` using `hash`. */
export function signingAlgorithm(key: CryptoKey, hash: SignatureHash): Algorithm {
  return key.algorithm.name === 'ECDSA'
    ? ({ name: 'ECDSA', hash } as EcdsaParams)
    : ({ name: 'RSASSA-PKCS1-v1_5', hash } as RsaHashedImportParams);
}

/** PKCS#8 PEM of a private key (Node, curl and OpenSSL read it as `PRIVATE KEY`). */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Imports a PEM private key (PKCS#8, PKCS#1 or SEC1) as a WebCrypto signing key. */
export async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  let keyObject: ReturnType<typeof createPrivateKey>;
  try {
    keyObject = createPrivateKey(pem);
  } catch (cause) {
    throw new KoaMtlsError('ERR_PKI_INVALID_INPUT', 'the CA private key is not a readable PEM key', { cause });
  }
  const der = keyObject.export({ format: 'der', type: 'pkcs8' });
  const details = keyObject.asymmetricKeyDetails;
  const params: RsaHashedImportParams | EcKeyImportParams =
    keyObject.asymmetricKeyType === 'ec'
      ? { name: 'ECDSA', namedCurve: details?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  return subtle.importKey('pkcs8', der, params, true, ['sign']);
}
