/**
 * Hand-built `PeerIdentity` values for authorization tests: plain frozen objects implementing the interface, so the
 * policy engine is tested without any certificate parser.
 */
import { createHash } from 'node:crypto';
import type {
  DistinguishedName,
  DistinguishedNameAttribute,
  PeerIdentity,
  SubjectAltNames,
} from '../../src/identity/peer-identity.js';
import { attributeShortName, attributeTypeOid } from '../../src/x509/attribute-types.js';

/** RDNs in certificate order (least specific first); each RDN is a list of `[type, value]` pairs. */
export type RdnInput = readonly (readonly (readonly [string, string])[])[];

export interface PeerInput {
  readonly subject?: RdnInput;
  readonly issuer?: RdnInput;
  readonly san?: Partial<SubjectAltNames>;
  readonly spiffeId?: string;
  /** Seed for the certificate and key fingerprints (different seeds, different fingerprints). */
  readonly seed?: string;
  readonly issuerChain?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly verifiedBy?: PeerIdentity['verifiedBy'];
  readonly source?: PeerIdentity['source'];
}

/** SHA-256 hex of a string: a stand-in fingerprint. */
export function fakeFingerprint(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

function escapeValue(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, (char) => `\\${char}`).replace(/^[ #]|[ ]$/g, (char) => `\\${char}`);
}

/** A `DistinguishedName` with `rdns`, `get` and an RFC 4514 `toString`. */
export function distinguishedName(input: RdnInput): DistinguishedName {
  const rdns = Object.freeze(
    input.map((rdn) =>
      Object.freeze(
        rdn.map(([type, value]): DistinguishedNameAttribute => {
          const oid = attributeTypeOid(type);
          if (oid === undefined) throw new Error(`unknown attribute type ${type}`);
          return Object.freeze({ oid, shortName: attributeShortName(oid), value });
        }),
      ),
    ),
  );
  const text = [...rdns]
    .reverse()
    .map((rdn) =>
      rdn.map((attribute) => `${attribute.shortName ?? attribute.oid}=${escapeValue(attribute.value)}`).join('+'),
    )
    .join(',');
  return Object.freeze({
    rdns,
    get(nameOrOid: string): readonly string[] {
      const oid = attributeTypeOid(nameOrOid);
      return rdns.flatMap((rdn) =>
        rdn.filter((attribute) => attribute.oid === oid).map((attribute) => attribute.value),
      );
    },
    toString: () => text,
  });
}

const DAY = 86_400_000;

/** A verified peer (TLS handshake) valid from yesterday to tomorrow, with whatever the test gives it. */
export function makePeer(input: PeerInput = {}): PeerIdentity {
  const seed = input.seed ?? JSON.stringify(input);
  const san: SubjectAltNames = Object.freeze({
    dns: Object.freeze([...(input.san?.dns ?? [])]),
    uri: Object.freeze([...(input.san?.uri ?? [])]),
    email: Object.freeze([...(input.san?.email ?? [])]),
    ip: Object.freeze([...(input.san?.ip ?? [])]),
    upn: Object.freeze([...(input.san?.upn ?? [])]),
    otherName: Object.freeze([...(input.san?.otherName ?? [])]),
  });
  const now = Date.now();
  return Object.freeze({
    subject: distinguishedName(input.subject ?? [[['O', 'Acme']], [['CN', 'client']]]),
    issuer: distinguishedName(input.issuer ?? [[['O', 'Acme']], [['CN', 'Acme Issuing CA']]]),
    san,
    spiffeId: input.spiffeId,
    serialNumber: fakeFingerprint(`serial:${seed}`).slice(0, 16),
    fingerprint256: fakeFingerprint(`cert:${seed}`),
    spkiFingerprint256: fakeFingerprint(`spki:${seed}`),
    notBefore: input.notBefore ?? new Date(now - DAY),
    notAfter: input.notAfter ?? new Date(now + DAY),
    keyUsage: Object.freeze(['digitalSignature'] as const),
    extKeyUsage: Object.freeze(['1.3.6.1.5.5.7.3.2']),
    isCA: false,
    issuerChain: Object.freeze([
      ...(input.issuerChain ?? [fakeFingerprint('ca:acme-issuing'), fakeFingerprint('ca:acme-root')]),
    ]),
    der: new Uint8Array(0),
    pem: '',
    source: input.source ?? 'tls',
    verifiedBy: input.verifiedBy ?? 'tls-handshake',
  });
}
