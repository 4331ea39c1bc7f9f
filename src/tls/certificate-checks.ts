/**
 * The certificate checks of `mtlsOptions`: parse every PEM block, then
 * check the server chain, the CA bundle and the CRLs. Each failure throws one `ERR_MTLS_CONFIG_*` error naming the
 * file and the fix; findings that deny nothing are returned as warnings.
 *
 * @module tls/certificate-checks
 */
import { createHash, type KeyObject, X509Certificate } from 'node:crypto';
import { configError } from '../errors.js';
import { type ParsedCertificate, parseCertificate } from '../identity/parse-certificate.js';
import { signatureVerdict, verifySignature, weakKeyReason } from '../trust/algorithms.js';
import { type ParsedCrl, parseCrl } from '../trust/crl.js';
import { type PemSource, pemBlocks } from '../trust/pem.js';
import type { MtlsWarning } from './warnings.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const DAY_MS = 86_400_000;
// A server or CA certificate with more SANs than this is not one we should load.
const parseLimits = { maxSubjectAltNames: 1024 };

/** A certificate parsed by Node (keys, verification) and by koa-mtls's strict DER reader (names, extensions). */
export interface LoadedCertificate {
  readonly node: X509Certificate;
  readonly parsed: ParsedCertificate;
  readonly pem: string;
  /** `certFile /etc/tls/tls.crt (certificate 2, CN=…)` */
  readonly label: string;
}

/** What the checks need to know about "now" and the warning window. */
export interface CheckContext {
  readonly now: Date;
  readonly expiryWarningMs: number;
  readonly warn: (warning: MtlsWarning) => void;
}

function describe(cert: ParsedCertificate): string {
  const subject = cert.subject.toString();
  return subject === '' ? 'empty subject' : subject;
}

/** Parses every `CERTIFICATE` block of a source; anything else, or nothing, is a malformed file. */
export function loadCertificates(source: PemSource, what: string): LoadedCertificate[] {
  const blocks = pemBlocks(source.text);
  const certificates = blocks.filter((block) => block.type === 'CERTIFICATE');
  // An empty or non-PEM file would otherwise surface as an opaque OpenSSL error, or silently as "no CA"
  if (certificates.length === 0) {
    throw configError(
      'ERR_MTLS_CONFIG_MALFORMED_PEM',
      source.label,
      `contains no PEM "CERTIFICATE" block (${what} expected)`,
      'provide the PEM text starting with "-----BEGIN CERTIFICATE-----" (convert DER with `openssl x509 -inform der`)',
    );
  }
  return certificates.map((block, index) => {
    try {
      const node = new X509Certificate(block.der);
      const parsed = parseCertificate(block.der, parseLimits);
      const label = `${source.label} (certificate ${index + 1}, ${describe(parsed)})`;
      return { node, parsed, pem: block.pem, label };
    } catch (error) {
      throw configError(
        'ERR_MTLS_CONFIG_MALFORMED_PEM',
        source.label,
        `certificate ${index + 1} does not parse as X.509`,
        'replace the file with a complete PEM certificate (a truncated or hand-edited file is the usual cause)',
        error,
      );
    }
  });
}

/** A certificate is self-signed when it names itself as issuer and its own key verifies it. */
export function isSelfSigned(cert: LoadedCertificate): boolean {
  return cert.node.checkIssued(cert.node) && cert.node.verify(cert.node.publicKey);
}

function checkStrength(cert: LoadedCertificate, checkSignature: boolean): void {
  const weakKey = weakKeyReason(cert.node.publicKey);
  if (weakKey !== undefined) {
    throw configError(
      'ERR_MTLS_CONFIG_WEAK_KEY',
      cert.label,
      `has a weak key: ${weakKey}`,
      'reissue the certificate with an EC P-256/P-384 key or an RSA key of at least 2048 bits',
    );
  }
  const verdict = signatureVerdict(cert.parsed.signatureAlgorithm);
  // A root's self-signature is never checked by OpenSSL, so only issued certificates need a strong one
  if (checkSignature && !verdict.ok) {
    throw configError(
      'ERR_MTLS_CONFIG_WEAK_SIGNATURE',
      cert.label,
      `is signed with ${verdict.name}`,
      'reissue it signed with SHA-256 or stronger (sha256WithRSAEncryption, ecdsa-with-SHA256/384)',
    );
  }
}

function warnIfExpiring(cert: LoadedCertificate, context: CheckContext, file: string | undefined): void {
  const { notBefore, notAfter } = cert.parsed;
  const remaining = notAfter - context.now.getTime();
  // Short-lived certificates (SVIDs, cert-manager) renew at about 2/3 of their life: warn only once rotation is late
  const threshold = Math.min(context.expiryWarningMs, (notAfter - notBefore) / 3);
  if (remaining < threshold) {
    context.warn({
      code: 'MTLS_CERT_EXPIRING',
      message: `${cert.label} expires at ${new Date(notAfter).toISOString()} (in ${(remaining / DAY_MS).toFixed(2)} days); renew it and rotate`,
      ...(file === undefined ? {} : { file }),
    });
  }
}

function checkValidity(cert: LoadedCertificate, context: CheckContext, role: 'server' | 'ca'): void {
  const now = context.now.getTime();
  if (now > cert.parsed.notAfter) {
    throw configError(
      role === 'server' ? 'ERR_MTLS_CONFIG_CERT_EXPIRED' : 'ERR_MTLS_CONFIG_CA_NOT_VALID',
      cert.label,
      `expired at ${new Date(cert.parsed.notAfter).toISOString()}`,
      role === 'server' ? 'deploy a renewed certificate and key' : 'remove the expired CA from the bundle or renew it',
    );
  }
  if (now < cert.parsed.notBefore) {
    throw configError(
      role === 'server' ? 'ERR_MTLS_CONFIG_CERT_NOT_YET_VALID' : 'ERR_MTLS_CONFIG_CA_NOT_VALID',
      cert.label,
      `is not valid before ${new Date(cert.parsed.notBefore).toISOString()}`,
      'check the system clock, or wait until the certificate becomes valid before deploying it',
    );
  }
}

/** Checks the server's chain (leaf first) and that `key` is the leaf's private key. */
export function checkServerChain(
  chain: readonly LoadedCertificate[],
  key: KeyObject,
  keyLabel: string,
  source: PemSource,
  context: CheckContext,
): void {
  const leaf = chain[0] as LoadedCertificate;
  // Node's own error is ERR_OSSL_X509_KEY_VALUES_MISMATCH with no file name
  if (!leaf.node.checkPrivateKey(key)) {
    throw configError(
      'ERR_MTLS_CONFIG_KEY_MISMATCH',
      keyLabel,
      `is not the private key of ${leaf.label}`,
      'deploy the key and certificate of the same issuance together (a rotation may have written only one of them)',
    );
  }
  for (const cert of chain) {
    checkValidity(cert, context, 'server');
    checkStrength(cert, !isSelfSigned(cert));
    warnIfExpiring(cert, context, source.file);
  }
  const usages = leaf.parsed.extKeyUsage;
  // RFC 5280 §4.2.1.12: a present EKU restricts the key to the listed purposes; clients reject a server cert without serverAuth
  if (leaf.parsed.hasExtKeyUsage && !usages.includes(SERVER_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
    throw configError(
      'ERR_MTLS_CONFIG_CERT_EKU',
      leaf.label,
      `has an extended key usage without serverAuth (${usages.join(', ')})`,
      'reissue the server certificate with extendedKeyUsage serverAuth (SPIFFE SVIDs carry serverAuth and clientAuth)',
    );
  }
}

/** Checks the trust bundle: only CA certificates, within validity, strong, and at least one self-signed root. */
export function checkCaBundle(bundle: readonly LoadedCertificate[], source: PemSource, context: CheckContext): void {
  for (const cert of bundle) {
    const keyUsage = cert.parsed.keyUsage;
    // RFC 5280 §4.2.1.9/§4.2.1.3: an anchor needs cA=TRUE and, when keyUsage is present, keyCertSign
    if (!cert.parsed.isCA || (keyUsage.length > 0 && !keyUsage.includes('keyCertSign'))) {
      throw configError(
        'ERR_MTLS_CONFIG_CA_NOT_CA',
        cert.label,
        'is not a CA certificate (basicConstraints cA is not TRUE, or keyUsage lacks keyCertSign)',
        'put only CA certificates in the bundle; a client or server certificate does not belong in "ca"',
      );
    }
    checkValidity(cert, context, 'ca');
    checkStrength(cert, !isSelfSigned(cert));
    warnIfExpiring(cert, context, source.file);
  }
  // OpenSSL needs a self-signed anchor unless partial chains are allowed, which mtlsOptions refuses
  if (!bundle.some(isSelfSigned)) {
    throw configError(
      'ERR_MTLS_CONFIG_CA_NO_ROOT',
      source.label,
      'contains no self-signed root CA, so no client chain can be verified',
      'add the root CA certificate that issued your client certificates (intermediates alone are not trust anchors)',
    );
  }
}

/** A parsed CRL and the CA that signed it. */
export interface LoadedCrl {
  readonly pem: string;
  readonly der: Buffer;
  readonly issuer: LoadedCertificate;
}

/** Parses and checks the CRLs: each signed by a CA of the bundle, and every CA covered (OpenSSL checks them all). */
export function checkCrls(source: PemSource, bundle: readonly LoadedCertificate[], context: CheckContext): LoadedCrl[] {
  const blocks = pemBlocks(source.text).filter((block) => block.type === 'X509 CRL');
  // A CRL file that holds no CRL would silently disable revocation
  if (blocks.length === 0) {
    throw configError(
      'ERR_MTLS_CONFIG_CRL_MALFORMED',
      source.label,
      'contains no PEM "X509 CRL" block',
      'provide PEM CRLs starting with "-----BEGIN X509 CRL-----" (convert DER with `openssl crl -inform der`)',
    );
  }
  const crls = blocks.map((block, index) => {
    let crl: ParsedCrl;
    try {
      crl = parseCrl(block.der);
    } catch (error) {
      throw configError(
        'ERR_MTLS_CONFIG_CRL_MALFORMED',
        source.label,
        `CRL ${index + 1} does not parse`,
        'replace it with the complete CRL as published by the CA',
        error,
      );
    }
    const label = `${source.label} (CRL ${index + 1}, issuer ${crl.issuer.toString()})`;
    const verdict = signatureVerdict(crl.signatureAlgorithm);
    if (!verdict.ok) {
      throw configError(
        'ERR_MTLS_CONFIG_WEAK_SIGNATURE',
        label,
        `is signed with ${verdict.name}`,
        'have the CA sign its CRL with SHA-256 or stronger',
      );
    }
    const issuer = bundle.find(
      (ca) =>
        ca.parsed.subjectNameHex === crl.issuerNameHex &&
        verifySignature(crl.tbs, crl.signature, verdict.hash, ca.node.publicKey),
    );
    // A CRL from outside the bundle is either a mistake or a forgery; OpenSSL would ignore it and clients would fail
    if (issuer === undefined) {
      throw configError(
        'ERR_MTLS_CONFIG_CRL_ISSUER',
        label,
        'is not signed by any CA in the "ca" bundle',
        'use the CRL published by one of the trusted CAs, or add its issuing CA to the bundle',
      );
    }
    // OpenSSL rejects every client with CRL_HAS_EXPIRED once nextUpdate has passed: fail closed, but loudly
    if (crl.nextUpdate < context.now.getTime()) {
      context.warn({
        code: 'MTLS_CRL_STALE',
        message: `${label} is past its nextUpdate (${new Date(crl.nextUpdate).toISOString()}): every client certificate from this CA is rejected until a fresh CRL is deployed`,
        ...(source.file === undefined ? {} : { file: source.file }),
      });
    }
    return { pem: block.pem, der: block.der, issuer };
  });
  for (const ca of bundle) {
    // Once any CRL is loaded OpenSSL wants one for every CA in a chain, else UNABLE_TO_GET_CRL
    if (!crls.some((crl) => crl.issuer === ca)) {
      throw configError(
        'ERR_MTLS_CONFIG_CRL_MISSING',
        ca.label,
        'has no CRL, and once any CRL is configured OpenSSL rejects every client chain through a CA without one',
        'add a current CRL for this CA to the CRL file (an empty CRL is fine)',
      );
    }
  }
  return crls;
}

/** SHA-256 over DER blobs, in order: names a trust configuration. */
export function digestOf(ders: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const der of ders) hash.update(createHash('sha256').update(der).digest());
  return hash.digest('hex');
}
