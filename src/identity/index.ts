/**
 * Peer identity: the `peerCertificate()` middleware, the `PeerIdentity` model and `summarizePeer()`.
 *
 * @module identity
 */
export { type PeerCertificateOptions, peerCertificate } from './peer-certificate.js';
export { summarizePeer } from './summarize-peer.js';
