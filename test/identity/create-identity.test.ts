import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createIdentity,
  isBuiltIdentity,
  rememberedOn,
  rememberOn,
  validityProblem,
} from '../../src/identity/create-identity.js';
import { type ParsedCertificate, parseCertificate } from '../../src/identity/parse-certificate.js';
import type { PeerIdentity } from '../../src/identity/peer-identity.js';
import { createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';

let issued: IssuedCertificate;
let parsed: ParsedCertificate;

beforeAll(async () => {
  const root = await createCertificateAuthority();
  issued = await root.issueClient({
    subject: 'CN=svc,O=Acme',
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2026-02-01T00:00:00Z'),
  });
  parsed = parseCertificate(new X509Certificate(issued.certificate).raw, { maxSubjectAltNames: 16 });
});

const provenance = { source: 'tls', verifiedBy: 'tls-handshake', issuerChain: ['ab'], spiffeId: undefined } as const;

describe('when building an identity', () => {
  it('is frozen, null-prototype, and carries its provenance', () => {
    const identity = createIdentity(parsed, provenance);
    expect(Object.isFrozen(identity)).toBe(true);
    expect(Object.getPrototypeOf(identity)).toBeNull();
    expect(identity.source).toBe('tls');
    expect(identity.verifiedBy).toBe('tls-handshake');
    expect(identity.issuerChain).toEqual(['ab']);
    expect(Object.isFrozen(identity.issuerChain)).toBe(true);
  });

  it('hands out copies of der and dates, so a caller cannot corrupt the shared parse', () => {
    const identity = createIdentity(parsed, provenance);
    identity.der[0] = 0;
    identity.notAfter.setTime(0);
    expect(identity.der[0]).toBe(0x30);
    expect(identity.notAfter.toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(identity.notBefore.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('gives the leaf PEM exactly as a CA writes it', () => {
    expect(createIdentity(parsed, provenance).pem).toBe(issued.certificate);
  });

  it('serializes to JSON without throwing (no cycles)', () => {
    const text = JSON.stringify(createIdentity(parsed, provenance));
    expect(JSON.parse(text)).toMatchObject({ subject: { rdns: [[{ value: 'Acme' }], [{ value: 'svc' }]] } });
  });
});

describe('when checking validity at a given time', () => {
  it.each([
    ['2025-12-31T23:59:59Z', 'PEER_CERTIFICATE_NOT_YET_VALID'],
    ['2026-01-01T00:00:00Z', undefined],
    ['2026-02-01T00:00:00Z', undefined],
    ['2026-02-01T00:00:01Z', 'PEER_CERTIFICATE_EXPIRED'],
  ])('at %s reports %s', (at, problem) => {
    const identity = createIdentity(parsed, provenance);
    // A look-alike (a copy) has no stamped period: its dates decide, with the same result.
    const copy = { ...identity, notBefore: identity.notBefore, notAfter: identity.notAfter } as PeerIdentity;
    expect(validityProblem(identity, Date.parse(at))).toBe(problem);
    expect(validityProblem(copy, Date.parse(at))).toBe(problem);
  });

  it('fails closed on a look-alike whose dates are invalid', () => {
    const identity = createIdentity(parsed, provenance);
    const broken = { ...identity, notBefore: new Date(Number.NaN), notAfter: new Date(Number.NaN) } as PeerIdentity;
    expect(validityProblem(broken, Date.parse('2026-01-15T00:00:00Z'))).toBe('PEER_CERTIFICATE_EXPIRED');
  });
});

describe('when telling identities built here from look-alikes', () => {
  it('recognizes its own identity by its private fields, which a copy does not have and reflection does not show', () => {
    const identity = createIdentity(parsed, provenance);
    expect(isBuiltIdentity(identity)).toBe(true);
    expect(isBuiltIdentity({ ...identity })).toBe(false);
    expect(Reflect.ownKeys(identity)).toEqual([...Object.keys(identity)]);
  });
});

describe('when remembering a value on an identity', () => {
  it('keeps one entry: the value under the key last remembered, nothing under any other key', () => {
    const identity = createIdentity(parsed, provenance);
    const first = {};
    const second = {};
    expect(rememberedOn(identity, first)).toBeUndefined();
    rememberOn(identity, first, 'a');
    expect(rememberedOn(identity, first)).toBe('a');
    expect(rememberedOn(identity, second)).toBeUndefined();
    rememberOn(identity, second, 'b');
    expect(rememberedOn(identity, second)).toBe('b');
    expect(rememberedOn(identity, first)).toBeUndefined();
  });

  it('leaves the frozen identity as it was to every observer, and remembers nothing on a look-alike', () => {
    const identity = createIdentity(parsed, provenance);
    const keys = Reflect.ownKeys(identity);
    rememberOn(identity, provenance, 'a');
    expect(Object.isFrozen(identity)).toBe(true);
    expect(Reflect.ownKeys(identity)).toEqual(keys);
    const copy = { ...identity } as PeerIdentity;
    rememberOn(copy, provenance, 'a');
    expect(rememberedOn(copy, provenance)).toBeUndefined();
    expect(Reflect.ownKeys(copy)).toEqual(keys);
  });
});
