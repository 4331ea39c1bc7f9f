/**
 * SHA-256 fingerprint pins in any common spelling, normalized at startup to the form `PeerIdentity` uses: 64
 * lower-case hex digits. Accepted: hex in any case with or without `:`/space separators (OpenSSL, Node
 * `fingerprint256`), an optional `sha256:`/`SHA256:` prefix, and base64 or base64url (Envoy `verify_certificate_spki`,
 * RFC 7469 pins), so a pin copied from any of these tools works as written.
 */
import type { PeerIdentity } from '../../identity/peer-identity.js';
import type { ConditionKind } from '../conditions.js';

const HEX = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]{43}=?$/;
const BASE64URL = /^[A-Za-z0-9_-]{43}$/;

/**
 * Normalizes one SHA-256 fingerprint, or throws an `Error` whose message completes "<path> …".
 */
export function normalizeFingerprint256(input: string): string {
  const text = input.trim().replace(/^sha-?256:/i, '');
  const hex = text.replace(/[:\s]/g, '').toLowerCase();
  if (HEX.test(hex) && (/^[0-9a-f]+$/i.test(text) || /^[0-9a-f]{2}([:\s][0-9a-f]{2}){31}$/i.test(text))) return hex;
  if (BASE64.test(text) || BASE64URL.test(text)) {
    const bytes = Buffer.from(text, BASE64URL.test(text) ? 'base64url' : 'base64');
    if (bytes.length === 32) return bytes.toString('hex');
  }
  throw new Error('must be a SHA-256 fingerprint: 64 hex digits (optionally colon-separated) or 44 base64 characters');
}

const shortFingerprint = (hex: string): string => `${hex.slice(0, 16)}…`;

/** A pin on one list of the peer's SHA-256 fingerprints, matched by one exact lookup per value. */
function pinKind<K extends string>(
  key: K,
  label: string,
  values: (peer: PeerIdentity) => readonly string[],
): ConditionKind<string, string, K> {
  return Object.freeze<ConditionKind<string, string, K>>({
    key,
    compile: normalizeFingerprint256,
    isBare: () => false,
    describePattern: shortFingerprint,
    peerValues: (view) => view.normalize(values(view.peer), (value: string) => value),
    matches: (pin: string, value: string) => pin === value,
    describe: (view) => `${label} ${JSON.stringify(values(view.peer).map(shortFingerprint))}`,
    exactKey: (pin: string) => pin,
    valueKey: (value: string) => value,
  });
}

/** `fingerprint256`: the certificate's fingerprint. */
export const fingerprintKind = pinKind('fingerprint256', 'fingerprint256', (peer) => [peer.fingerprint256]);
/** `spkiFingerprint256`: the public key's fingerprint (survives renewal with the same key). */
export const spkiFingerprintKind = pinKind('spkiFingerprint256', 'spkiFingerprint256', (peer) => [
  peer.spkiFingerprint256,
]);
/** `issuerFingerprint256`: any CA certificate of the peer's verified issuer chain. */
export const issuerFingerprintKind = pinKind('issuerFingerprint256', 'issuerChain', (peer) => peer.issuerChain);
