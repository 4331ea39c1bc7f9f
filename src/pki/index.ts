/**
 * `koa-mtls/pki`: a development PKI for tests, demos and local development — root and intermediate CAs, server and
 * client certificates with any subject and SAN, CRLs, and PKCS#12 bundles. Never for production keys.
 *
 * @module pki
 */
export {
  type CertificateAuthority,
  type CertificateAuthorityOptions,
  type CertificateOptions,
  type CrlOptions,
  createCertificateAuthority,
  type ExtendedKeyUsageName,
  type IssuedCertificate,
  loadCertificateAuthority,
  type RevokedCertificate,
  type SubjectAltNameInput,
} from './certificate-authority.js';
export type { DistinguishedNameAttributeInput, DistinguishedNameInput } from './distinguished-name.js';
export { type KeyAlgorithm, keyAlgorithms, type SignatureHash } from './keys.js';
export { type Pkcs12Options, toPkcs12 } from './pkcs12.js';
