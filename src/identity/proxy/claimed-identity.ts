/**
 * The identity a proxy *claims* without forwarding a certificate (XFCC `Subject`, `URI`, `DNS`, `Hash`). Nothing
 * about it was verified by the application: it is marked `verifiedBy: 'proxy-claimed'`, exists only behind the
 * explicit `allowClaimedIdentity` option, and authorization rejects it unless a policy opts in.
 */
import { createName } from '../distinguished-name.js';
import type { PeerIdentity } from '../peer-identity.js';
import { isWorkloadSpiffeId } from '../spiffe-id.js';
import { parseDistinguishedNameString } from './dn-string.js';

/** What an XFCC element claims. */
export interface Claims {
  readonly subject: string | undefined;
  readonly uri: readonly string[];
  readonly dns: readonly string[];
  /** SHA-256 of the certificate the proxy saw, lower-case hex, when it sent one. */
  readonly hash: string | undefined;
}

// Validity is unknown without a certificate: the widest range a Date can hold, so no clock check ever fails.
const EARLIEST = -8.64e15;
const LATEST = 8.64e15;

/** Builds the frozen claimed identity. Throws `MalformedHeaderError` for an unparsable `Subject`. */
export function createClaimedIdentity(claims: Claims): PeerIdentity {
  const empty = Object.freeze([]);
  const identity = Object.create(null) as Record<string, unknown>;
  Object.assign(identity, {
    subject: claims.subject === undefined ? createName([]) : parseDistinguishedNameString(claims.subject),
    issuer: createName([]),
    san: Object.freeze({
      dns: Object.freeze([...claims.dns]),
      uri: Object.freeze([...claims.uri]),
      email: empty,
      ip: empty,
      upn: empty,
      otherName: empty,
    }),
    // Same URI rule as for certificates; the CA/key-usage half of the SVID check cannot be made without one.
    spiffeId: claims.uri.length === 1 && isWorkloadSpiffeId(claims.uri[0] as string) ? claims.uri[0] : undefined,
    serialNumber: '',
    fingerprint256: claims.hash ?? '',
    spkiFingerprint256: '',
    keyUsage: empty,
    extKeyUsage: empty,
    isCA: false,
    issuerChain: empty,
    pem: '',
    source: 'xfcc',
    verifiedBy: 'proxy-claimed',
  });
  Object.defineProperties(identity, {
    der: { enumerable: true, get: () => new Uint8Array(0) },
    notBefore: { enumerable: true, get: () => new Date(EARLIEST) },
    notAfter: { enumerable: true, get: () => new Date(LATEST) },
  });
  return Object.freeze(identity) as unknown as PeerIdentity;
}
