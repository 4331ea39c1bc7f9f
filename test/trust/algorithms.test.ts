/**
 * Key and signature strength rules, the DER reader they rely on, and the OpenSSL-version group choice.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../src/pki/index.js';
import { strictGroups, supportsHybridPostQuantum } from '../../src/tls/profile.js';
import { signatureVerdict, verifySignature, weakKeyReason } from '../../src/trust/algorithms.js';
import { parseCrl } from '../../src/trust/crl.js';
import { pemBlocks } from '../../src/trust/pem.js';

describe('weakKeyReason', () => {
  it.each([
    ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey, undefined],
    ['EC P-256', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey, undefined],
    ['EC P-384', () => generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey, undefined],
    ['Ed25519', () => generateKeyPairSync('ed25519').publicKey, undefined],
    ['RSA 1024', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, 'RSA key of 1024 bits'],
    ['EC secp256k1', () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey, 'curve secp256k1'],
    ['EC P-224', () => generateKeyPairSync('ec', { namedCurve: 'secp224r1' }).publicKey, 'curve secp224r1'],
    ['DSA', () => generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey, 'dsa key'],
  ])('judges %s', (_name, key, reason) => {
    const verdict = weakKeyReason(key());
    if (reason === undefined) expect(verdict).toBeUndefined();
    else expect(verdict).toContain(reason);
  });
});

describe('signatureVerdict', () => {
  it.each([
    ['1.2.840.113549.1.1.11', true, 'sha256WithRSAEncryption'],
    ['1.2.840.10045.4.3.2', true, 'ecdsa-with-SHA256'],
    ['1.2.840.10045.4.3.3', true, 'ecdsa-with-SHA384'],
    ['1.3.101.112', true, 'Ed25519'],
    ['1.2.840.113549.1.1.4', false, 'md5WithRSAEncryption'],
    ['1.2.840.113549.1.1.5', false, 'sha1WithRSAEncryption'],
    ['1.2.840.10045.4.1', false, 'ecdsa-with-SHA1'],
    ['1.2.840.113549.1.1.10', false, 'RSASSA-PSS'],
    ['1.2.3.4', false, 'OID 1.2.3.4'],
  ])('judges %s', (oid, ok, name) => {
    expect(signatureVerdict(oid)).toMatchObject({ ok, name });
  });
});

describe('verifySignature', () => {
  it('verifies a CRL signature with its issuer key, and fails closed on a tampered body', async () => {
    const root = await createCertificateAuthority();
    const crl = parseCrl(pemBlocks(await root.createCrl())[0]?.der as Buffer);
    expect(crl.signatureAlgorithm).toBe('1.2.840.10045.4.3.2');
    const issuer = new X509Certificate(root.root).publicKey;
    expect(verifySignature(crl.tbs, crl.signature, 'sha256', issuer)).toBe(true);
    const tampered = Buffer.from(crl.tbs);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
    expect(verifySignature(tampered, crl.signature, 'sha256', issuer)).toBe(false);
  });
});

describe('groups by OpenSSL version', () => {
  it.each([
    ['3.0.19', false],
    ['3.4.1', false],
    ['3.5.0', true],
    ['3.5.2+quic', true],
    ['4.0.0', true],
  ])('OpenSSL %s offers X25519MLKEM768: %s', (version, hybrid) => {
    expect(supportsHybridPostQuantum(version)).toBe(hybrid);
    expect(strictGroups(version).startsWith('X25519MLKEM768:')).toBe(hybrid);
    expect(strictGroups(version).endsWith('X25519:prime256v1:secp384r1')).toBe(true);
  });
});
