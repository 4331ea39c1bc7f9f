import { describe, expect, it } from 'vitest';
import { requirePeer } from '../../../src/authz/require-peer.js';
import { allows } from '../helpers.js';

describe('san.upn patterns', () => {
  it.each([
    { pattern: 'alice@corp.example', upn: 'alice@corp.example', allowed: true },
    { pattern: 'Alice@Corp.Example', upn: 'ALICE@corp.example', allowed: true },
    { pattern: 'alice@corp.example', upn: 'bob@corp.example', allowed: false },
    { pattern: 'alice@corp.example', upn: 'alice@corp.example.evil', allowed: false },
    { pattern: '*@corp.example', upn: 'bob@corp.example', allowed: true },
    { pattern: '*@corp.example', upn: 'bob@sub.corp.example', allowed: false },
    { pattern: '*@corp.example', upn: 'corp.example', allowed: false },
    // a last '@' splits: the user part of 'a@b@corp.example' is 'a@b', not allowed by a plain user pattern
    { pattern: '*@corp.example', upn: 'a@b@corp.example', allowed: false },
  ])('$pattern vs UPN $upn → $allowed', async ({ pattern, upn, allowed }) => {
    expect(await allows({ san: { upn: pattern } }, { san: { upn: [upn] } })).toBe(allowed);
  });

  it('does not match an email SAN with the same text (type confusion)', async () => {
    expect(await allows({ san: { upn: 'alice@corp.example' } }, { san: { email: ['alice@corp.example'] } })).toBe(
      false,
    );
  });

  it.each(['alice', '@corp.example', 'alice@', 'a*@corp.example', '*@*', 'al ice@corp.example'])(
    'refuses the pattern %j at startup',
    (pattern) => {
      expect(() => requirePeer({ san: { upn: pattern } })).toThrow(/policy\.san\.upn/);
    },
  );
});
