/**
 * Peer identity: the `peerCertificate()` middleware, the `PeerIdentity` model and `summarizePeer()`.
 *
 * @module identity
 */
export { type PeerCertificateOptions, peerCertificate, type TrustedProxies } from './peer-certificate.js';
export { peerFromPem } from './peer-from-pem.js';
export type { CertificateEncoding } from './proxy/certificate-encodings.js';
export type { ForwardedVerificationOptions } from './proxy/forwarded-peers.js';
export type {
  ClientCertSource,
  HeaderSource,
  NginxSource,
  PeerCertificateSource,
  TlsSource,
  XfccSource,
} from './proxy/sources.js';
export { summarizePeer } from './summarize-peer.js';
