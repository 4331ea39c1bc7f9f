/**
 * A request's peer, normalized for matching on first use: lower-cased and validated DNS names, split URIs and emails,
 * parsed IP bytes, the split SPIFFE ID. Built once per request, so its cost follows the peer's SAN count, never the
 * policy's size. Values that fail validation are dropped: they never match anything (fail closed).
 */
import type { PeerIdentity } from '../identity/peer-identity.js';
import { dnsLabelPath, normalizePeerDnsName } from './matchers/dns.js';
import { type PeerEmail, parsePeerEmail } from './matchers/email.js';
import { parseIpAddress } from './matchers/ip.js';
import { type PeerSpiffeId, parsePeerSpiffeId } from './matchers/spiffe.js';
import { type PeerUri, parsePeerUri } from './matchers/uri.js';

/** A normalized DNS name with its label path for globs. */
export interface PeerDnsName {
  readonly name: string;
  readonly labelPath: string;
}

const NO_VALUES: readonly string[] = Object.freeze([]);

function defined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

/** The lazily normalized view of one peer. */
export class PeerView {
  readonly peer: PeerIdentity;
  #dns: readonly PeerDnsName[] | undefined;
  #uri: readonly PeerUri[] | undefined;
  #email: readonly PeerEmail[] | undefined;
  #ip: readonly Uint8Array[] | undefined;
  #spiffe: PeerSpiffeId | null | undefined;
  #fingerprints: readonly string[] | undefined;
  #spkiFingerprints: readonly string[] | undefined;
  #trustDomains: readonly string[] | undefined;
  #subject: ReadonlyMap<string, readonly string[]> | undefined;
  #issuer: ReadonlyMap<string, readonly string[]> | undefined;

  constructor(peer: PeerIdentity) {
    this.peer = peer;
  }

  get dns(): readonly PeerDnsName[] {
    this.#dns ??= this.peer.san.dns
      .map(normalizePeerDnsName)
      .filter(defined)
      .map((name) => ({ name, labelPath: dnsLabelPath(name) }));
    return this.#dns;
  }

  get uri(): readonly PeerUri[] {
    this.#uri ??= this.peer.san.uri.map(parsePeerUri).filter(defined);
    return this.#uri;
  }

  get email(): readonly PeerEmail[] {
    this.#email ??= this.peer.san.email.map(parsePeerEmail).filter(defined);
    return this.#email;
  }

  get ip(): readonly Uint8Array[] {
    this.#ip ??= this.peer.san.ip.map(parseIpAddress).filter(defined);
    return this.#ip;
  }

  /** `[fingerprint256]`, allocated once per request however many pin rules ask. */
  get fingerprints(): readonly string[] {
    this.#fingerprints ??= [this.peer.fingerprint256];
    return this.#fingerprints;
  }

  /** `[spkiFingerprint256]`, allocated once per request. */
  get spkiFingerprints(): readonly string[] {
    this.#spkiFingerprints ??= [this.peer.spkiFingerprint256];
    return this.#spkiFingerprints;
  }

  /** The SPIFFE trust domain as a list (empty without a valid SPIFFE ID), allocated once per request. */
  get trustDomains(): readonly string[] {
    this.#trustDomains ??= this.spiffe === undefined ? NO_VALUES : [this.spiffe.trustDomain];
    return this.#trustDomains;
  }

  /**
   * The values of one DN attribute by OID, in certificate order, from one walk over `rdns` per request (however many
   * rules name the attribute).
   */
  attributeValues(which: 'subject' | 'issuer', oid: string): readonly string[] {
    let index = which === 'subject' ? this.#subject : this.#issuer;
    if (index === undefined) {
      const built = new Map<string, string[]>();
      for (const rdn of this.peer[which].rdns) {
        for (const attribute of rdn) {
          const values = built.get(attribute.oid);
          if (values === undefined) built.set(attribute.oid, [attribute.value]);
          else values.push(attribute.value);
        }
      }
      index = built;
      if (which === 'subject') this.#subject = built;
      else this.#issuer = built;
    }
    return index.get(oid) ?? NO_VALUES;
  }

  /** The split SPIFFE ID, or `undefined` when the peer is not a valid X509-SVID. */
  get spiffe(): PeerSpiffeId | undefined {
    if (this.#spiffe === undefined) {
      const id = this.peer.spiffeId;
      this.#spiffe = (id === undefined ? undefined : parsePeerSpiffeId(id)) ?? null;
    }
    return this.#spiffe ?? undefined;
  }
}
