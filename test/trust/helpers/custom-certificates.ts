/**
 * Certificates with exactly the extensions an attack needs (the development PKI always writes well-formed ones):
 * missing key identifiers, an intermediate EKU without clientAuth, a Netscape cert type, critical AKI/AIA, an empty
 * CA subject. Test-only; keys live in memory.
 */
import { randomBytes } from 'node:crypto';
import { exportPrivateKeyPem, generateKeyPair, signingAlgorithm } from '../../../src/pki/keys.js';
import { type CryptoKeyPair, x509 } from '../../../src/x509/runtime.js';

/** A made certificate and its keys. */
export interface Made {
  readonly certificate: x509.X509Certificate;
  readonly pem: string;
  readonly keys: CryptoKeyPair;
  /** PKCS#8 PEM of the private key. */
  readonly key: string;
  readonly fingerprint256: string;
}

export interface Spec {
  /** RFC 4514-ish `CN=a,O=b`, or `''` for an empty subject. */
  readonly subject: string;
  /** Signer; self-signed when absent. */
  readonly issuer?: Made;
  readonly ca?: boolean;
  /** Key usage flags (`x509.KeyUsageFlags`); `null` leaves the extension out. Default: CA or client defaults. */
  readonly keyUsage?: number | null;
  /** EKU OIDs; `null` leaves the extension out. Default: clientAuth for leaves, none for CAs. */
  readonly eku?: readonly string[] | null;
  /** Whether to write SKI and (when issued) AKI. Default true. */
  readonly keyIdentifiers?: boolean;
  /** Extra extensions, written as given. */
  readonly extensions?: readonly x509.Extension[];
  readonly san?: { readonly uri?: readonly string[] };
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** An extension with a hand-written DER value. */
export function rawExtension(oid: string, critical: boolean, value: readonly number[]): x509.Extension {
  return new x509.Extension(oid, critical, new Uint8Array(value));
}

export async function make(spec: Spec): Promise<Made> {
  const keys = await generateKeyPair('ec-p256');
  const ca = spec.ca === true;
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(ca, undefined, true)];
  const usage =
    spec.keyUsage === undefined
      ? ca
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
        : x509.KeyUsageFlags.digitalSignature
      : spec.keyUsage;
  if (usage !== null) extensions.push(new x509.KeyUsagesExtension(usage, true));
  const eku = spec.eku === undefined ? (ca ? null : [CLIENT_AUTH]) : spec.eku;
  if (eku !== null) extensions.push(new x509.ExtendedKeyUsageExtension([...eku]));
  if (spec.keyIdentifiers !== false) {
    extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
    if (spec.issuer !== undefined) {
      extensions.push(await x509.AuthorityKeyIdentifierExtension.create(spec.issuer.certificate));
    }
  }
  if (spec.san?.uri !== undefined) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(spec.san.uri.map((value) => ({ type: 'url' as const, value }))),
    );
  }
  extensions.push(...(spec.extensions ?? []));
  const subject = new x509.Name(spec.subject);
  const signingKey = spec.issuer?.keys.privateKey ?? keys.privateKey;
  const serial = randomBytes(16);
  serial[0] = ((serial[0] as number) & 0x7f) | 0x10;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject,
    issuer: spec.issuer?.certificate.subjectName ?? subject,
    notBefore: spec.notBefore ?? new Date(Date.now() - 3_600_000),
    notAfter: spec.notAfter ?? new Date(Date.now() + 30 * 86_400_000),
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: signingAlgorithm(signingKey, 'SHA-256'),
    extensions,
  });
  const thumbprint = Buffer.from(await certificate.getThumbprint('SHA-256')).toString('hex');
  return {
    certificate,
    pem: `${certificate.toString('pem')}\n`,
    keys,
    key: await exportPrivateKeyPem(keys.privateKey),
    fingerprint256: thumbprint,
  };
}
