import { describe, expect, it } from 'vitest';
import { allows } from '../helpers.js';
import { fakeFingerprint, makePeer } from '../peer-fixture.js';

const peer = makePeer({ seed: 'pinned' });
const hex = peer.fingerprint256;
const colonUpper = hex.toUpperCase().match(/../g)?.join(':') ?? '';
const base64 = Buffer.from(hex, 'hex').toString('base64');
const base64url = Buffer.from(hex, 'hex').toString('base64url');

describe('fingerprint256 pins', () => {
  it.each([
    { format: 'lower-case hex', pin: hex },
    { format: 'upper-case hex', pin: hex.toUpperCase() },
    { format: 'colon-separated upper-case (OpenSSL, Node)', pin: colonUpper },
    { format: 'colon-separated lower-case', pin: colonUpper.toLowerCase() },
    { format: 'space-separated', pin: colonUpper.replaceAll(':', ' ') },
    { format: 'SHA256: prefix', pin: `SHA256:${hex}` },
    { format: 'base64', pin: base64 },
    { format: 'base64url', pin: base64url },
  ])('accept $format', async ({ pin }) => {
    expect(await allows({ fingerprint256: pin }, { seed: 'pinned' })).toBe(true);
    expect(await allows({ fingerprint256: pin }, { seed: 'other' })).toBe(false);
  });

  it('pins the key with spkiFingerprint256, not the certificate', async () => {
    const spki = peer.spkiFingerprint256.toUpperCase().match(/../g)?.join(':') ?? '';
    expect(await allows({ spkiFingerprint256: spki }, { seed: 'pinned' })).toBe(true);
    expect(await allows({ spkiFingerprint256: colonUpper }, { seed: 'pinned' })).toBe(false);
  });
});

describe('issuerFingerprint256 binds a rule to a CA by key, not DN (keycloak#52801)', () => {
  const sameDn = [[['O', 'Corp']], [['CN', 'Corp CA']]] as const;
  const caOne = fakeFingerprint('ca:one');
  const caTwo = fakeFingerprint('ca:two');
  const policy = { issuer: { O: 'Corp', CN: 'Corp CA' }, issuerFingerprint256: caOne, san: { dns: 'svc.example.com' } };
  const san = { dns: ['svc.example.com'] };

  it('allows the peer issued by the bound CA', async () => {
    expect(await allows(policy, { san, issuer: sameDn, issuerChain: [caOne] })).toBe(true);
  });

  it('denies a peer with the same issuer DN from a second trusted CA', async () => {
    expect(await allows(policy, { san, issuer: sameDn, issuerChain: [caTwo] })).toBe(false);
  });

  it('matches the CA anywhere in the chain (an intermediate or the root)', async () => {
    expect(await allows(policy, { san, issuer: sameDn, issuerChain: [caTwo, caOne] })).toBe(true);
  });

  it('denies when the chain is unavailable (Node #65579)', async () => {
    expect(await allows(policy, { san, issuer: sameDn, issuerChain: [] })).toBe(false);
  });
});
