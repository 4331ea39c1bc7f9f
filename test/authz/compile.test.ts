import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/authz/compile.js';
import { requirePeer } from '../../src/authz/require-peer.js';
import { InvalidOptionError } from '../../src/errors.js';
import { fakeFingerprint } from './peer-fixture.js';

const strict = { allowBareWildcards: false, allowCommonNameOnly: false };
const ok = { san: { dns: 'ok.example.com' } };

function compileError(policy: unknown, options: Record<string, unknown> = {}): InvalidOptionError {
  try {
    requirePeer(policy as never, options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('when the policy has a mistake', () => {
  it.each([
    { name: 'an empty policy', policy: {}, path: 'policy', message: /empty rule; write \{ anyPeer: true \}/ },
    { name: 'a typo in a rule key', policy: { sna: {} }, path: 'policy.sna', message: /not a known option/ },
    {
      name: 'an empty pattern',
      policy: { san: { dns: '' } },
      path: 'policy.san.dns',
      message: /must not be an empty string/,
    },
    {
      name: 'a non-list pattern',
      policy: { san: { dns: 42 } },
      path: 'policy.san.dns',
      message: /string or an array of strings/,
    },
    {
      name: 'a DNS pattern too long',
      policy: { san: { dns: `${'a.'.repeat(127)}com` } },
      path: 'policy.san.dns',
      message: /at most 253 characters/,
    },
    {
      name: "a partial '**' DNS label",
      policy: { san: { dns: 'a**.example.com' } },
      path: 'policy.san.dns',
      message: /'\*\*' only as a whole label/,
    },
    {
      name: 'an invalid wildcard label',
      policy: { san: { dns: '*!.example.com' } },
      path: 'policy.san.dns',
      message: /invalid wildcard label/,
    },
    {
      name: 'a URI without host',
      policy: { san: { uri: 'https:///x' } },
      path: 'policy.san.uri',
      message: /must have a host/,
    },
    {
      name: 'a URI with a bad host',
      policy: { san: { uri: 'https://a..example.com/' } },
      path: 'policy.san.uri',
      message: /has a host that has an empty label/,
    },
    {
      name: 'a URI glob with a dot segment',
      policy: { san: { uri: 'https://a.example.com/../*' } },
      path: 'policy.san.uri',
      message: /empty, '\.' or '\.\.' segments/,
    },
    {
      name: "a partial '**' URI segment",
      policy: { san: { uri: 'https://a.example.com/a**' } },
      path: 'policy.san.uri',
      message: /'\*\*' only as a whole path segment/,
    },
    {
      name: 'a SPIFFE ID too long',
      policy: { spiffe: `spiffe://example.org/${'a'.repeat(2048)}` },
      path: 'policy.spiffe',
      message: /at most 2048 characters/,
    },
    {
      name: "a '!' trust domain",
      policy: { trustDomain: '!example.org' },
      path: 'policy.trustDomain',
      message: /must not start with '!'/,
    },
    {
      name: 'a string subject',
      policy: { subject: 'CN=svc,O=Acme', ...{ san: { dns: 'ok.example.com' } } },
      path: 'policy.subject',
      message: /plain object of attribute patterns/,
    },
    {
      name: 'an email local part with a space',
      policy: { san: { email: 'a b@example.com' } },
      path: 'policy.san.email',
      message: /exact local part/,
    },
    {
      name: 'a non-array anyOf',
      policy: { anyOf: { san: { dns: 'a.example.com' } } },
      path: 'policy.anyOf',
      message: /non-empty array of rules/,
    },
    {
      name: 'a typo in a SAN type',
      policy: { san: { dsn: 'a.example.com' } },
      path: 'policy.san.dsn',
      message: /not a known option \(known: dns, uri, email, ip, upn\)/,
    },
    { name: 'an empty san', policy: { san: {} }, path: 'policy.san', message: /at least one SAN type/ },
    {
      name: 'an empty list',
      policy: { san: { dns: [] } },
      path: 'policy.san.dns',
      message: /must not be an empty array/,
    },
    {
      name: 'a non-string entry',
      policy: { san: { dns: ['a.example.com', 42] } },
      path: 'policy.san.dns[1]',
      message: /non-empty string/,
    },
    { name: 'a non-object rule', policy: 'spiffe://example.org/a', path: 'policy', message: /plain object/ },
    {
      name: "a '!' pattern in a nested rule",
      policy: { anyOf: [ok, { san: { dns: ['!evil.example.com'] } }] },
      path: 'policy.anyOf[1].san.dns[0]',
      message: /must not start with '!'/,
    },
    {
      name: "a '#' pattern",
      policy: { san: { uri: '#https://a.example.com' } },
      path: 'policy.san.uri',
      message: /must not start with '#'/,
    },
    {
      name: "a '!' DN pattern",
      policy: { subject: { O: '!Acme' }, ...ok },
      path: 'policy.subject.O',
      message: /must not start with '!'/,
    },
    {
      name: "a '!' SPIFFE ID",
      policy: { spiffe: ['!spiffe://td/a'] },
      path: 'policy.spiffe[0]',
      message: /must not start with '!'/,
    },
    {
      name: 'an empty DNS label',
      policy: { san: { dns: 'a..example.com' } },
      path: 'policy.san.dns',
      message: /empty label/,
    },
    {
      name: "'**' not left-most",
      policy: { san: { dns: 'a.**.example.com' } },
      path: 'policy.san.dns',
      message: /'\*\*' only as the left-most label/,
    },
    {
      name: "two '*' in a DNS label",
      policy: { san: { dns: '*a*.example.com' } },
      path: 'policy.san.dns',
      message: /at most one '\*' per label/,
    },
    {
      name: "two '*' in a URI segment",
      policy: { san: { uri: 'https://a.example.com/*a*' } },
      path: 'policy.san.uri',
      message: /at most one '\*' per path segment/,
    },
    {
      name: "two '*' in a SPIFFE segment",
      policy: { spiffe: 'spiffe://example.org/*a*' },
      path: 'policy.spiffe',
      message: /at most one '\*' per path segment/,
    },
    {
      name: "a partial '**' SPIFFE segment",
      policy: { spiffe: 'spiffe://example.org/a**' },
      path: 'policy.spiffe',
      message: /'\*\*' only as a whole path segment/,
    },
    {
      name: 'a DNS trailing dot',
      policy: { san: { dns: 'a.example.com.' } },
      path: 'policy.san.dns',
      message: /must not end with a dot/,
    },
    {
      name: 'an invalid DNS label',
      policy: { san: { dns: 'a_b c.example.com' } },
      path: 'policy.san.dns',
      message: /invalid label/,
    },
    {
      name: 'a URI query',
      policy: { san: { uri: 'https://a.example.com/x?y=1' } },
      path: 'policy.san.uri',
      message: /query or fragment/,
    },
    {
      name: 'a relative URI',
      policy: { san: { uri: 'urn:example:a' } },
      path: 'policy.san.uri',
      message: /absolute URI/,
    },
    {
      name: 'URI userinfo',
      policy: { san: { uri: 'https://u@a.example.com/' } },
      path: 'policy.san.uri',
      message: /userinfo/,
    },
    {
      name: 'a URI character class',
      policy: { san: { uri: 'https://a.example.com/[ab]/*' } },
      path: 'policy.san.uri',
      message: /'\['/,
    },
    {
      name: 'an email without local part',
      policy: { san: { email: 'example.com' } },
      path: 'policy.san.email',
      message: /local@domain/,
    },
    {
      name: 'a partial email local glob',
      policy: { san: { email: 'a*@example.com' } },
      path: 'policy.san.email',
      message: /exact local part/,
    },
    {
      name: 'an invalid CIDR prefix',
      policy: { san: { ip: ['10.0.0.0/33'] } },
      path: 'policy.san.ip[0]',
      message: /CIDR/,
    },
    {
      name: 'a CIDR with host bits',
      policy: { san: { ip: '10.0.0.1/8' } },
      path: 'policy.san.ip',
      message: /without host bits/,
    },
    { name: 'an invalid address', policy: { san: { ip: '10.0.0.256' } }, path: 'policy.san.ip', message: /IP address/ },
    {
      name: 'a SPIFFE ID without path',
      policy: { spiffe: 'spiffe://example.org' },
      path: 'policy.spiffe',
      message: /use \{ trustDomain: 'example.org' \}/,
    },
    {
      name: 'a wildcard trust domain',
      policy: { spiffe: 'spiffe://*.example.org/a' },
      path: 'policy.spiffe',
      message: /must not contain a wildcard/,
    },
    {
      name: 'a SPIFFE empty segment',
      policy: { spiffe: 'spiffe://example.org/a//b' },
      path: 'policy.spiffe',
      message: /invalid path segment ''/,
    },
    {
      name: 'a SPIFFE dot segment',
      policy: { spiffe: 'spiffe://example.org/a/../b' },
      path: 'policy.spiffe',
      message: /invalid path segment '\.\.'/,
    },
    {
      name: 'SPIFFE percent-encoding',
      policy: { spiffe: 'spiffe://example.org/a/%41' },
      path: 'policy.spiffe',
      message: /invalid path segment/,
    },
    {
      name: 'a SPIFFE trailing slash',
      policy: { spiffe: 'spiffe://example.org/a/' },
      path: 'policy.spiffe',
      message: /invalid path segment/,
    },
    {
      name: 'a SPIFFE port',
      policy: { spiffe: 'spiffe://example.org:443/a' },
      path: 'policy.spiffe',
      message: /valid SPIFFE trust domain/,
    },
    {
      name: 'a non-SPIFFE ID',
      policy: { spiffe: 'https://example.org/a' },
      path: 'policy.spiffe',
      message: /SPIFFE ID/,
    },
    {
      name: 'a trust domain with scheme',
      policy: { trustDomain: 'spiffe://example.org' },
      path: 'policy.trustDomain',
      message: /bare trust domain/,
    },
    {
      name: 'an invalid trust domain',
      policy: { trustDomain: ['example.org', 'ex ample'] },
      path: 'policy.trustDomain[1]',
      message: /valid SPIFFE trust domain/,
    },
    {
      name: 'a short fingerprint',
      policy: { fingerprint256: 'abcd' },
      path: 'policy.fingerprint256',
      message: /SHA-256 fingerprint/,
    },
    {
      name: 'a SHA-1 fingerprint',
      policy: { issuerFingerprint256: 'a'.repeat(40) },
      path: 'policy.issuerFingerprint256',
      message: /SHA-256 fingerprint/,
    },
    {
      name: 'an unknown attribute',
      policy: { subject: { XX: 'a' }, ...ok },
      path: 'policy.subject.XX',
      message: /not a known attribute type/,
    },
    {
      name: 'a duplicate attribute',
      policy: { subject: { O: 'a', o: 'b' }, ...ok },
      path: 'policy.subject.o',
      message: /same attribute as policy.subject.O/,
    },
    {
      name: 'an empty subject',
      policy: { subject: {}, ...ok },
      path: 'policy.subject',
      message: /at least one attribute/,
    },
    { name: 'anyPeer: false', policy: { anyPeer: false }, path: 'policy.anyPeer', message: /must be true/ },
    { name: 'a lone not', policy: { not: ok }, path: 'policy.not', message: /anyPeer: true, not: … \}/ },
    { name: 'an empty anyOf', policy: { anyOf: [] }, path: 'policy.anyOf', message: /non-empty array/ },
    { name: 'an empty rule in allOf', policy: { allOf: [ok, {}] }, path: 'policy.allOf[1]', message: /empty rule/ },
    {
      name: 'a non-function check',
      policy: { ...ok, check: true },
      path: 'policy.check',
      message: /must be a function/,
    },
    {
      name: 'a bare DNS wildcard',
      policy: { san: { dns: '*' } },
      path: 'policy.san.dns',
      message: /bare wildcard.*allowBareWildcards: true/,
    },
    {
      name: "a bare '**'",
      policy: { san: { dns: ['a.example.com', '**'] } },
      path: 'policy.san.dns[1]',
      message: /bare wildcard/,
    },
    { name: "a bare '*.*'", policy: { san: { dns: '*.*' } }, path: 'policy.san.dns', message: /bare wildcard/ },
    { name: 'a bare email', policy: { san: { email: '*@**' } }, path: 'policy.san.email', message: /bare wildcard/ },
    { name: 'a bare URI', policy: { san: { uri: 'https://**/**' } }, path: 'policy.san.uri', message: /bare wildcard/ },
    { name: 'a bare IP block', policy: { san: { ip: '0.0.0.0/0' } }, path: 'policy.san.ip', message: /bare wildcard/ },
    {
      name: 'a bare DN value',
      policy: { subject: { O: '*' }, ...ok },
      path: 'policy.subject.O',
      message: /bare wildcard/,
    },
    {
      name: 'a CN-only rule',
      policy: { subject: { CN: 'svc' } },
      path: 'policy.subject.CN',
      message: /allowCommonNameOnly: true/,
    },
    {
      name: 'a CN-only branch of anyOf',
      policy: { anyOf: [{ spiffe: 'spiffe://example.org/a' }, { subject: { cn: 'svc' } }] },
      path: 'policy.anyOf[1].subject.cn',
      message: /only condition that can allow/,
    },
    {
      name: 'a CN-only rule with a not',
      policy: { subject: { CN: 'svc' }, not: ok },
      path: 'policy.subject.CN',
      message: /only condition that can allow/,
    },
  ])('rejects $name at $path', ({ policy, path, message }) => {
    const error = compileError(policy);
    expect(error.path).toBe(path);
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`"${path}" `)).toBe(true);
  });

  it('rejects a circular policy', () => {
    const policy: { anyOf: unknown[] } = { anyOf: [ok] };
    policy.anyOf.push(policy);
    expect(compileError(policy).path).toBe('policy.anyOf[1]');
  });

  it('rejects nesting deeper than 32 levels', () => {
    let policy: Record<string, unknown> = { anyPeer: true };
    for (let depth = 0; depth < 40; depth++) policy = { allOf: [policy] };
    const error = compileError(policy);
    expect(error.message).toMatch(/nests deeper than 32 levels/);
    expect(error.path).toBe(`policy${'.allOf[0]'.repeat(32)}`);
  });

  it('rejects inherited keys as no keys (an empty rule)', () => {
    expect(compileError(Object.create({ anyPeer: true })).path).toBe('policy');
  });
});

describe('when an opt-in is given', () => {
  it.each([
    { policy: { san: { dns: '*' } }, options: { allowBareWildcards: true } },
    { policy: { subject: { O: '*' }, ...ok }, options: { allowBareWildcards: true } },
    { policy: { subject: { CN: 'svc' } }, options: { allowCommonNameOnly: true } },
  ])('accepts $policy with $options', ({ policy, options }) => {
    expect(() => requirePeer(policy, options)).not.toThrow();
  });

  it.each([
    {
      name: 'CN with an issuer binding',
      policy: { subject: { CN: 'svc' }, issuerFingerprint256: fakeFingerprint('ca') },
    },
    { name: 'CN with another attribute', policy: { subject: { CN: 'svc', O: 'Acme' } } },
    { name: 'CN in allOf with a SAN rule', policy: { allOf: [{ subject: { CN: 'svc' } }, ok] } },
    { name: 'anyPeer with not', policy: { anyPeer: true as const, not: { subject: { CN: 'evil' } } } },
  ])('accepts $name without opt-in', ({ policy }) => {
    expect(() => requirePeer(policy)).not.toThrow();
  });
});

describe('when the options have a mistake', () => {
  it.each([
    { options: { mdoe: 'report' }, path: 'options.mdoe', message: /not a known option/ },
    { options: { mode: 'audit' }, path: 'options.mode', message: /'enforce', 'report'/ },
    { options: { onDecision: 'log' }, path: 'options.onDecision', message: /function/ },
    { options: { allowProxyClaimed: 'yes' }, path: 'options.allowProxyClaimed', message: /boolean/ },
    { options: { revocation: { isRevoked: 1 } }, path: 'options.revocation.isRevoked', message: /function/ },
    {
      options: { revocation: { isRevoked: () => false, timeoutMs: 0 } },
      path: 'options.revocation.timeoutMs',
      message: /integer from 1/,
    },
    {
      options: { revocation: { isRevoked: () => false, failopen: true } },
      path: 'options.revocation.failopen',
      message: /not a known option/,
    },
  ])('rejects $path', ({ options, path, message }) => {
    const error = compileError(ok, options);
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
  });
});

describe('compilePolicy', () => {
  it('does not mutate a deeply frozen policy', () => {
    const policy = Object.freeze({
      anyOf: Object.freeze([Object.freeze({ san: Object.freeze({ dns: Object.freeze(['A.Example.com']) }) })]),
    });
    const compiled = compilePolicy(policy, strict);
    expect(compiled.description).toBe('anyOf(san.dns in [a.example.com])');
  });

  it('never throws anything but InvalidOptionError (property)', () => {
    const stringish = fc.oneof(
      fc.string(),
      fc.constantFrom('*', '**', '!a', '#a', 'spiffe://td/a', '10.0.0.0/8', 'a@b.c', 'https://h/*', '*.example.com'),
    );
    const pattern = fc.oneof(stringish, fc.array(stringish, { maxLength: 3 }), fc.anything());
    const rule = fc.letrec((tie) => ({
      rule: fc.dictionary(
        fc.constantFrom(
          'anyPeer',
          'subject',
          'san',
          'spiffe',
          'trustDomain',
          'fingerprint256',
          'anyOf',
          'not',
          'check',
          'x',
        ),
        fc.oneof(
          pattern,
          fc.dictionary(fc.constantFrom('dns', 'uri', 'email', 'ip', 'CN', 'O', 'bad'), pattern),
          fc.array(tie('rule'), { maxLength: 2 }),
          tie('rule'),
        ),
        { maxKeys: 3 },
      ),
    })).rule;
    fc.assert(
      fc.property(fc.oneof(rule, fc.anything()), fc.boolean(), (policy, loose) => {
        try {
          compilePolicy(policy, { allowBareWildcards: loose, allowCommonNameOnly: loose });
        } catch (error) {
          return error instanceof InvalidOptionError;
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });
});
