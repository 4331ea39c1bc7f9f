/**
 * Key and signature strength rules for every certificate and CRL koa-mtls loads or re-verifies: Mozilla Server Side
 * TLS 6.0 (`rsa_key_size` 2048, `certificate_curves` P-256/P-384, SHA-2 signatures) and OpenSSL security level 2.
 *
 * @module trust/algorithms
 */
import { constants, type KeyObject, verify } from 'node:crypto';

/** Signature algorithms accepted, by OID, with the hash Node's `crypto.verify` needs (`null` for EdDSA). */
const acceptedSignatures: Readonly<Record<string, { readonly name: string; readonly hash: string | null }>> = {
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512' },
  '1.3.101.112': { name: 'Ed25519', hash: null },
  '1.3.101.113': { name: 'Ed448', hash: null },
};

/** Names for the weak algorithms people actually meet, so the message says what was found. */
const weakSignatureNames: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.3': 'md4WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.3.14.3.2.29': 'sha1WithRSASignature',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
};

/** The outcome of a signature-algorithm check: accepted (with its hash), or the algorithm's name for the message. */
export type SignatureVerdict =
  | { readonly ok: true; readonly name: string; readonly hash: string | null }
  | { readonly ok: false; readonly name: string };

/**
 * Whether a signature algorithm OID is acceptable. RSASSA-PSS is refused because its default hash is SHA-1 and its
 * parameters would need a full parser; nothing in the Mozilla 6.0 profiles needs it.
 */
export function signatureVerdict(oid: string): SignatureVerdict {
  const accepted = acceptedSignatures[oid];
  if (accepted !== undefined) return { ok: true, ...accepted };
  return { ok: false, name: weakSignatureNames[oid] ?? `OID ${oid}` };
}

/** EC curves accepted for certificate keys (Mozilla 6.0 `certificate_curves`, plus P-521 which is stronger). */
const acceptedCurves = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/** `undefined` when the key is strong enough (RSA of at least `minRsaBits`), else a description of what is weak. */
export function weakKeyReason(key: KeyObject, minRsaBits = 2048): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = details.modulusLength ?? 0;
    // Mozilla 6.0 rsa_key_size 2048; OpenSSL @SECLEVEL=2 requires RSA >= 2048 (SSL_CTX_set_security_level(3))
    return bits >= minRsaBits ? undefined : `RSA key of ${bits} bits (at least ${minRsaBits} needed)`;
  }
  if (type === 'ec') {
    const curve = details.namedCurve ?? 'unknown';
    // Mozilla 6.0 certificate_curves: prime256v1, secp384r1; anything else is weak or unsupported by peers
    return acceptedCurves.has(curve) ? undefined : `EC key on curve ${curve} (use P-256 or P-384)`;
  }
  if (type === 'ed25519' || type === 'ed448') return undefined;
  return `${type ?? 'unknown'} key (use EC P-256/P-384 or RSA >= 2048)`;
}

/** Verifies `signature` over `tbs` with `issuer`'s public key, synchronously. */
export function verifySignature(tbs: Uint8Array, signature: Uint8Array, hash: string | null, key: KeyObject): boolean {
  try {
    return verify(
      hash,
      tbs,
      key.asymmetricKeyType === 'rsa' ? { key, padding: constants.RSA_PKCS1_PADDING } : key,
      signature,
    );
  } catch {
    // Fail closed: an algorithm/key mismatch is a failed verification, not a crash
    return false;
  }
}
