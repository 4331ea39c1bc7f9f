import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateReader } from '../../src/identity/certificate-reader.js';
import { MalformedHeaderError } from '../../src/identity/proxy/certificate-encodings.js';
import { parseDistinguishedNameString } from '../../src/identity/proxy/dn-string.js';
import { compileSources } from '../../src/identity/proxy/sources.js';
import { parseByteSequenceList } from '../../src/identity/proxy/structured-field.js';
import { parseXfcc } from '../../src/identity/proxy/xfcc.js';
import { createCertificateAuthority } from '../../src/pki/index.js';

let valid: Uint8Array;

beforeAll(async () => {
  const root = await createCertificateAuthority();
  const client = await root.issueClient({
    subject: 'CN=svc+UID=42,O=Acme',
    san: { dns: ['a.example'], uri: ['spiffe://example.org/a'], ip: ['::1'], upn: ['u@example.org'] },
  });
  valid = new Uint8Array(new X509Certificate(client.certificate).raw);
});

const onlyMalformed = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedHeaderError);
  }
};

describe('when certificate bytes are hostile (property-based)', () => {
  it('never throws on random bytes, and never yields a certificate from them', () => {
    const reader = new CertificateReader(0, 64);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect(reader.read(bytes).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on a real certificate with flipped bytes or truncation', () => {
    const reader = new CertificateReader(0, 64);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (flips, cut) => {
          const bytes = new Uint8Array(valid);
          for (const [index, value] of flips) bytes[index % bytes.length] = value;
          const outcome = reader.read(bytes.subarray(0, bytes.length - (cut % 8)));
          if (outcome.ok) expect(typeof outcome.certificate.subject.toString()).toBe('string');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('when header text is hostile (property-based)', () => {
  const text = fc.string({ unit: fc.constantFrom(...'=;,"\\ \tCertHashURIDNS:aA0+/%#'.split('')), maxLength: 200 });
  it('the XFCC, RFC 8941 and RFC 4514 parsers only ever throw MalformedHeaderError', () => {
    fc.assert(
      fc.property(text, (value) => {
        onlyMalformed(() => parseXfcc(value, { maxElements: 16, maxPairs: 64 }));
        onlyMalformed(() => parseByteSequenceList(value, 4));
        onlyMalformed(() => parseDistinguishedNameString(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('every header source returns an extraction and never throws', () => {
    const { headerSources } = compileSources(
      ['xfcc', 'client-cert', 'nginx', { type: 'header', header: 'x-der', encoding: 'base64-der' }],
      'sources',
      { maxHeaderBytes: 4096, maxChainCertificates: 4, cacheSize: 0 },
    );
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ maxLength: 300 })), (value) => {
        for (const source of headerSources) {
          const headers = Object.fromEntries(source.headers.map((name) => [name, value]));
          expect(['absent', 'invalid', 'certificate', 'claimed']).toContain(source.extract(headers).kind);
        }
      }),
      { numRuns: 500 },
    );
  });
});
