import { describe, expect, it } from 'vitest';
import type { DistinguishedNameRule } from '../../../src/authz/policy.js';
import { allows } from '../helpers.js';
import type { RdnInput } from '../peer-fixture.js';

describe('subject attribute patterns', () => {
  it.each<{ name: string; rule: DistinguishedNameRule; subject: RdnInput; allowed: boolean }>([
    {
      name: 'exact attributes',
      rule: { O: 'Acme', CN: 'svc' },
      subject: [[['O', 'Acme']], [['CN', 'svc']]],
      allowed: true,
    },
    {
      name: 'a different value',
      rule: { O: 'Acme', CN: 'svc' },
      subject: [[['O', 'Acme']], [['CN', 'svc2']]],
      allowed: false,
    },
    { name: 'values are case-sensitive', rule: { O: 'acme' }, subject: [[['O', 'Acme']]], allowed: false },
    { name: 'an absent attribute', rule: { OU: 'eng' }, subject: [[['O', 'Acme']]], allowed: false },
    {
      name: 'a repeated CN with one value not allowed',
      rule: { O: 'Acme', CN: 'svc' },
      subject: [[['O', 'Acme']], [['CN', 'svc']], [['CN', 'admin']]],
      allowed: false,
    },
    {
      name: 'a repeated CN with every value allowed',
      rule: { O: 'Acme', CN: ['svc', 'admin'] },
      subject: [[['O', 'Acme']], [['CN', 'admin']], [['CN', 'svc']]],
      allowed: true,
    },
    {
      name: 'attributes of a multi-valued RDN, matched wherever they are',
      rule: { O: 'Acme', CN: 'svc', UID: '42' },
      subject: [
        [['O', 'Acme']],
        [
          ['CN', 'svc'],
          ['UID', '42'],
        ],
      ],
      allowed: true,
    },
    {
      name: 'a CN-looking text inside another attribute',
      rule: { O: 'Acme', CN: 'admin' },
      subject: [[['O', 'Acme']], [['OU', 'xCN=admin, Inc']], [['CN', 'bob']]],
      allowed: false,
    },
    {
      name: 'a DN string injected into a value',
      rule: { O: 'Acme', CN: 'admin' },
      subject: [[['O', 'Acme']], [['CN', 'bob,CN=admin']]],
      allowed: false,
    },
    { name: 'a glob', rule: { OU: 'team-*' }, subject: [[['OU', 'team-a']]], allowed: true },
    { name: 'a glob is anchored', rule: { OU: 'team-*' }, subject: [[['OU', 'xteam-a']]], allowed: false },
    { name: "'/' is an ordinary character", rule: { O: 'a*' }, subject: [[['O', 'a/b/c']]], allowed: true },
    { name: 'regex syntax is literal', rule: { O: 'a.c' }, subject: [[['O', 'abc']]], allowed: false },
    {
      name: 'short names are case-insensitive',
      rule: { o: 'Acme', cn: 'svc' },
      subject: [[['O', 'Acme']], [['CN', 'svc']]],
      allowed: true,
    },
    { name: 'dotted OIDs', rule: { '2.5.4.10': 'Acme' }, subject: [[['O', 'Acme']]], allowed: true },
  ])('$name → $allowed', async ({ rule, subject, allowed }) => {
    expect(await allows({ subject: rule }, { subject })).toBe(allowed);
  });
});

describe('issuer attribute patterns', () => {
  it('match the issuer DN, not the subject', async () => {
    const peer = { subject: [[['O', 'Other']]], issuer: [[['O', 'Acme']], [['CN', 'Acme Issuing CA']]] } as const;
    expect(await allows({ issuer: { O: 'Acme', CN: 'Acme Issuing CA' } }, peer)).toBe(true);
    expect(await allows({ subject: { O: 'Acme' } }, peer)).toBe(false);
  });
});
