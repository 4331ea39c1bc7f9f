import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explain } from '../../src/authz/explain.js';
import { authorizerOf, requirePeer } from '../../src/authz/require-peer.js';
import { InvalidOptionError } from '../../src/errors.js';
import type { PeerIdentity } from '../../src/identity/peer-identity.js';
import { makePeer } from '../authz/peer-fixture.js';
import { cheapRuns, fuzzTimeout } from './fuzz-runs.js';

/**
 * The policy compiler on arbitrary JSON-ish objects: well-formed rules, near misses (wrong types, unknown keys,
 * empty values, deep nesting) and plain garbage. Properties: it compiles or throws InvalidOptionError naming a
 * `policy…`/`options…` path, never anything else; it never mutates (or even writes to) its input; it is
 * deterministic; a compiled policy decides every peer (explain never throws) the same way whether given the policy
 * or the middleware.
 */
const PATTERN_TEXT = [
  '*.example.com',
  '**.example.org',
  'api.example.com',
  'xn--bcher-kva.example',
  'bücher.example',
  'spiffe://example.org/ns/*/sa/api',
  'spiffe://example.org/**',
  'spiffe://example.org/../x',
  'https://svc.example.com/a/*',
  'ops@example.com',
  '*@example.com',
  '10.0.0.0/8',
  '::1',
  '::ffff:10.0.0.1',
  '300.1.1.1',
  '2001:db8::/129',
  '*',
  '**',
  '*@*',
  '0.0.0.0/0',
  'example.org',
  'a'.repeat(300),
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55',
  '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
  'svc',
];
const patternText = fc.oneof(
  { arbitrary: fc.constantFrom(...PATTERN_TEXT), weight: 4 },
  {
    arbitrary: fc.string({
      unit: fc.constantFrom('*', '.', '/', ':', '@', 'a', '-', '%', '[', ']', '?'),
      maxLength: 12,
    }),
    weight: 1,
  },
  { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
);
const junk = fc.oneof(
  fc.constantFrom(null, 0, 1, -1, Number.NaN, true, false, '', [], {}, [''], [null]),
  fc.anything({ maxDepth: 1 }),
);
const patterns = fc.oneof(
  { arbitrary: patternText, weight: 4 },
  { arbitrary: fc.array(patternText, { maxLength: 3 }), weight: 3 },
  { arbitrary: junk, weight: 1 },
);
const dnRule = fc.oneof(
  fc.dictionary(fc.constantFrom('CN', 'O', 'OU', 'UID', 'DC', 'cn', '2.5.4.10', '1.2.3', 'bogus', 'C'), patterns, {
    maxKeys: 3,
  }),
  junk,
);
const sanRule = fc.oneof(
  fc.dictionary(fc.constantFrom('dns', 'uri', 'email', 'ip', 'upn', 'DNS'), patterns, { maxKeys: 3 }),
  junk,
);
const check = fc.constantFrom(
  () => true,
  () => false,
  async () => true,
  () => {
    throw new Error('check failed');
  },
  'not a function',
);

const PLAIN_KEYS = ['spiffe', 'trustDomain', 'fingerprint256', 'spkiFingerprint256', 'issuerFingerprint256'] as const;

/** A rule shaped the way the documentation describes, with one or two conditions (and combinators below `depth`). */
function validRule(depth: number): fc.Arbitrary<Record<string, unknown>> {
  const validPatterns = fc.oneof(
    fc.constantFrom(...PATTERN_TEXT),
    fc.array(fc.constantFrom(...PATTERN_TEXT), { minLength: 1, maxLength: 2 }),
  );
  const condition = fc.oneof(
    fc.constant({ anyPeer: true }),
    fc.record({ san: fc.record({ dns: validPatterns }, { requiredKeys: [] }) }),
    fc.record({
      san: fc.record({ uri: validPatterns, email: validPatterns, ip: validPatterns }, { requiredKeys: [] }),
    }),
    fc.record({
      subject: fc.dictionary(fc.constantFrom('O', 'OU', 'UID', 'CN'), validPatterns, { minKeys: 1, maxKeys: 2 }),
    }),
    fc.record({ issuer: fc.dictionary(fc.constantFrom('O', 'CN'), validPatterns, { minKeys: 1, maxKeys: 1 }) }),
    fc.tuple(fc.constantFrom(...PLAIN_KEYS), validPatterns).map(([key, value]) => ({ [key]: value })),
    fc.record({ anyPeer: fc.constant(true), check }),
  );
  const leaf = fc.array(condition, { minLength: 1, maxLength: 2 }).map((parts) => Object.assign({}, ...parts));
  if (depth === 0) return leaf;
  const inner = validRule(depth - 1);
  return fc.oneof(
    { arbitrary: leaf, weight: 3 },
    fc.record({ anyOf: fc.array(inner, { minLength: 1, maxLength: 3 }) }),
    fc.record({ allOf: fc.array(inner, { minLength: 1, maxLength: 3 }) }),
    fc.record({ anyPeer: fc.constant(true), not: inner }),
  );
}

/** A rule with any key (known or not) holding anything, nested below `depth`: near misses and garbage. */
function wildRule(depth: number): fc.Arbitrary<unknown> {
  const nested = depth === 0 ? junk : fc.oneof(validRule(depth - 1), wildRule(depth - 1));
  return fc.record(
    {
      anyPeer: fc.oneof(fc.constant(true), junk),
      subject: dnRule,
      issuer: dnRule,
      san: sanRule,
      spiffe: patterns,
      trustDomain: patterns,
      fingerprint256: patterns,
      anyOf: fc.oneof(fc.array(nested, { maxLength: 2 }), junk),
      allOf: fc.oneof(fc.array(nested, { maxLength: 2 }), junk),
      not: nested,
      check,
      sna: patterns,
    },
    { requiredKeys: [] },
  );
}

/** Valid rules with one key replaced by a wrong value, or one unknown key added: the near misses. */
const nearMiss = fc
  .tuple(
    validRule(2),
    fc.constantFrom(
      'anyPeer',
      'san',
      'subject',
      'spiffe',
      'anyOf',
      'not',
      'check',
      'Spiffe',
      '__proto__',
      'constructor',
    ),
    junk,
  )
  .map(([rule, key, value]) => {
    const copy: Record<string, unknown> = { ...rule };
    Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
    return copy;
  });

const policy: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: validRule(2), weight: 5 },
  { arbitrary: nearMiss, weight: 3 },
  { arbitrary: wildRule(2), weight: 2 },
  { arbitrary: junk, weight: 1 },
);

const options = fc.record(
  {
    allowBareWildcards: fc.boolean(),
    allowCommonNameOnly: fc.boolean(),
    mode: fc.constantFrom('enforce', 'report'),
  },
  { requiredKeys: [] },
);

const PEERS: readonly (PeerIdentity | undefined)[] = [
  undefined,
  makePeer({
    subject: [[['O', 'Acme']], [['CN', 'api']]],
    san: { dns: ['api.example.com'], uri: ['spiffe://example.org/ns/prod/sa/api'], ip: ['10.0.0.1'] },
    spiffeId: 'spiffe://example.org/ns/prod/sa/api',
  }),
  makePeer({ subject: [[['CN', 'svc']]], san: { email: ['ops@example.com'], ip: ['::1'] }, seed: 'other' }),
];

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}

describe('when the policy compiler gets arbitrary objects', () => {
  it(
    'compiles or throws InvalidOptionError with a path, never mutates its input, and every compiled policy decides',
    async () => {
      const seen = { compiled: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(policy, options, async (candidate, settings) => {
          const before = fc.stringify(candidate);
          // Frozen input: a compiler that writes to it would throw here in strict mode.
          deepFreeze(candidate);
          let middleware: ReturnType<typeof requirePeer>;
          try {
            middleware = requirePeer(candidate as never, settings);
          } catch (error) {
            seen.refused += 1;
            expect(error).toBeInstanceOf(InvalidOptionError);
            expect((error as InvalidOptionError).path).toMatch(/^(policy|options)([.[]|$)/);
            expect(fc.stringify(candidate)).toBe(before);
            return;
          }
          seen.compiled += 1;
          expect(fc.stringify(candidate)).toBe(before);
          const description = authorizerOf(middleware)?.compiled.description;
          expect(typeof description).toBe('string');
          // Deterministic: the same input compiles to the same policy.
          expect(authorizerOf(requirePeer(candidate as never, settings))?.compiled.description).toBe(description);
          const { mode: _mode, ...explainOptions } = settings;
          for (const peer of PEERS) {
            const viaMiddleware = await explain(middleware, peer);
            const viaPolicy = await explain(candidate as never, peer, explainOptions);
            expect(typeof viaMiddleware.allowed).toBe('boolean');
            expect(viaPolicy.allowed).toBe(viaMiddleware.allowed);
            expect(viaPolicy.reason).toBe(viaMiddleware.reason);
            if (peer === undefined) expect(viaMiddleware.allowed).toBe(false);
          }
        }),
        { numRuns: cheapRuns(1500) },
      );
      // Not vacuous: both outcomes are exercised.
      expect(seen.compiled).toBeGreaterThan(10);
      expect(seen.refused).toBeGreaterThan(10);
    },
    fuzzTimeout(),
  );
});

describe('when URI SAN paths are matched against segment globs', () => {
  const segment = fc.constantFrom(
    'a',
    'b',
    'admin',
    'x.y',
    '..',
    '.',
    '',
    '%2e%2e',
    '%2E%2e',
    '.%2e',
    '%2e',
    '%2F',
    'a%2Fb',
  );
  const peerWithUri = (uri: string) => makePeer({ san: { uri: [uri] } });

  it('a literal dot or empty segment never matches a glob (the path is not canonical)', async () => {
    const glob = requirePeer({ san: { uri: 'https://svc.example.com/a/**' } });
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 4 }), async (segments) => {
        const uri = `https://svc.example.com/a/${segments.join('/')}`;
        const { allowed } = await explain(glob, peerWithUri(uri));
        if (segments.some((s) => s === '..' || s === '.' || s === '')) expect(allowed).toBe(false);
      }),
      { numRuns: cheapRuns(300) },
    );
  });

  // Was a bug (fixed) (src/authz/matchers/uri.ts, segmentsAreClean): a peer path with a literal `..` segment is refused by every
  // glob, but the percent-encoded forms `%2e%2e`, `%2E%2e`, `.%2e` pass, although RFC 3986 §2.3/§6.2.2.2 makes them
  // the same dot-segment once percent-encoding of unreserved characters is normalised:
  // `https://svc.example.com/a/%2e%2e/admin` is allowed by `https://svc.example.com/a/**` and means `/admin`.
  it('a percent-encoded dot segment never matches a glob either', async () => {
    const glob = requirePeer({ san: { uri: 'https://svc.example.com/a/**' } });
    for (const encoded of ['%2e%2e', '%2E%2E', '.%2e', '%2e']) {
      const { allowed } = await explain(glob, peerWithUri(`https://svc.example.com/a/${encoded}/admin`));
      expect(allowed).toBe(false);
    }
  });
});
