/**
 * The identity of a verified peer, as `peerCertificate()` puts it on `ctx.state.peer`: typed, lossless and immutable.
 *
 * @module identity
 */

/**
 * One attribute of a relative distinguished name.
 *
 * @example
 * ```ts
 * import type { DistinguishedName, DistinguishedNameAttribute } from 'koa-mtls';
 *
 * const commonNames = (dn: DistinguishedName): string[] =>
 *   dn.rdns.flat().filter((attribute: DistinguishedNameAttribute) => attribute.oid === '2.5.4.3').map((a) => a.value);
 * ```
 */
export interface DistinguishedNameAttribute {
  /** Dotted OID of the attribute type, e.g. `2.5.4.3`. */
  readonly oid: string;
  /** RFC 4514 short name (`CN`, `O`, `UID`, …), or `undefined` when the type has none. */
  readonly shortName: string | undefined;
  /** The decoded string value (UTF8String, PrintableString, IA5String, BMPString, T61String, …). */
  readonly value: string;
}

/**
 * An X.501 distinguished name as an ordered sequence of RDNs, in certificate (ASN.1) order: the least specific RDN
 * first. Multi-valued RDNs (`CN=svc+UID=42`) and repeated attributes (two CNs) are kept as they are.
 *
 * @example
 * ```ts
 * import type { DistinguishedName } from 'koa-mtls';
 *
 * const teamsOf = (subject: DistinguishedName): readonly string[] => subject.get('OU'); // every OU, in certificate order
 * const printable = (subject: DistinguishedName): string => subject.toString(); // 'CN=api,OU=payments,O=Example'
 * ```
 */
export interface DistinguishedName {
  /** RDNs in certificate order; each RDN holds one or more attributes. */
  readonly rdns: readonly (readonly DistinguishedNameAttribute[])[];
  /** All values of an attribute, by short name (case-insensitive) or dotted OID, in certificate order. */
  get(nameOrOid: string): readonly string[];
  /** RFC 4514 string: most specific RDN first, `+` inside a multi-valued RDN, special characters escaped. */
  toString(): string;
}

/**
 * An `otherName` SAN (RFC 5280 §4.2.1.6), e.g. a Microsoft UPN (`1.3.6.1.4.1.311.20.2.3`).
 *
 * @example
 * ```ts
 * import type { OtherName, PeerIdentity } from 'koa-mtls';
 *
 * const UPN = '1.3.6.1.4.1.311.20.2.3';
 * const upnsOf = (peer: PeerIdentity): string[] =>
 *   peer.san.otherName.filter((name: OtherName) => name.oid === UPN).map((name) => name.value);
 * ```
 */
export interface OtherName {
  /** Dotted OID of the type. */
  readonly oid: string;
  /** The decoded value when it is a string type; otherwise the hex of its DER. */
  readonly value: string;
}

/**
 * Subject alternative names, by type; never derived by splitting a string (CVE-2021-44532).
 *
 * @example
 * ```ts
 * import type { PeerIdentity, SubjectAltNames } from 'koa-mtls';
 *
 * const names = (peer: PeerIdentity): string[] => {
 *   const san: SubjectAltNames = peer.san;
 *   return [...san.dns, ...san.uri, ...san.email, ...san.ip];
 * };
 * ```
 */
export interface SubjectAltNames {
  readonly dns: readonly string[];
  readonly uri: readonly string[];
  readonly email: readonly string[];
  /** Canonical text: IPv4 dotted quad, IPv6 RFC 5952 (lower-case, `::` compressed). */
  readonly ip: readonly string[];
  /** UPN otherNames, as their string value. */
  readonly upn: readonly string[];
  /** Every otherName, UPNs included. */
  readonly otherName: readonly OtherName[];
}

/**
 * Where the certificate came from: the TLS socket, or a trusted proxy's header.
 *
 * @example
 * ```ts
 * import type { PeerIdentity, PeerSource } from 'koa-mtls';
 *
 * const forwarded = (peer: PeerIdentity): boolean => {
 *   const source: PeerSource = peer.source;
 *   return source !== 'tls'; // the certificate came in a trusted proxy's header
 * };
 * ```
 */
export type PeerSource = 'tls' | 'xfcc' | 'client-cert' | 'header';

/**
 * Who verified the chain: the TLS handshake (`tls-handshake`), koa-mtls re-verifying a forwarded certificate
 * against the app's own trust anchors (`app`), or nobody (`proxy-claimed`: fields a proxy asserted without a
 * certificate, accepted only where a policy opts in).
 *
 * @example
 * ```ts
 * import type { PeerIdentity, PeerVerification } from 'koa-mtls';
 *
 * const verifiedChain = (peer: PeerIdentity): boolean => {
 *   const verifiedBy: PeerVerification = peer.verifiedBy;
 *   return verifiedBy !== 'proxy-claimed';
 * };
 * ```
 */
export type PeerVerification = 'tls-handshake' | 'app' | 'proxy-claimed';

/**
 * RFC 5280 §4.2.1.3 key usage bits, by name.
 *
 * @example
 * ```ts
 * import type { KeyUsage, PeerIdentity } from 'koa-mtls';
 *
 * const signing: KeyUsage = 'digitalSignature';
 * const canSign = (peer: PeerIdentity): boolean => peer.keyUsage.length === 0 || peer.keyUsage.includes(signing);
 * ```
 */
export type KeyUsage =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

/**
 * The verified peer of a request.
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { requirePeer } from 'koa-mtls';
 *
 * const router = new Router();
 * router.get('/whoami', requirePeer({ anyPeer: true }), (ctx) => {
 *   const peer = ctx.state.peer; // a PeerIdentity, never undefined after an enforcing requirePeer
 *   ctx.body = { spiffeId: peer.spiffeId, subject: peer.subject.toString(), dns: peer.san.dns };
 * });
 * ```
 */
export interface PeerIdentity {
  readonly subject: DistinguishedName;
  readonly issuer: DistinguishedName;
  readonly san: SubjectAltNames;
  /** The SPIFFE ID, only when the certificate is a valid X509-SVID (exactly one URI SAN, `spiffe://`, not a CA). */
  readonly spiffeId: string | undefined;
  /** Lower-case hex, no separators, no leading zero bytes. */
  readonly serialNumber: string;
  /** SHA-256 of the certificate's DER, lower-case hex, no separators. */
  readonly fingerprint256: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER (the key pin of RFC 7469), lower-case hex, no separators. */
  readonly spkiFingerprint256: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Key usage bits; empty when the extension is absent. */
  readonly keyUsage: readonly KeyUsage[];
  /** Extended key usage OIDs (`1.3.6.1.5.5.7.3.2` = clientAuth); empty when the extension is absent. */
  readonly extKeyUsage: readonly string[];
  readonly isCA: boolean;
  /** SHA-256 fingerprints of the issuer chain, nearest issuer first, up to and including the trust anchor. */
  readonly issuerChain: readonly string[];
  /** The leaf certificate, DER. */
  readonly der: Uint8Array;
  /** The leaf certificate, PEM. */
  readonly pem: string;
  readonly source: PeerSource;
  readonly verifiedBy: PeerVerification;
}
