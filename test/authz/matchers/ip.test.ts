import { describe, expect, it } from 'vitest';
import { allows } from '../helpers.js';

describe('san.ip patterns', () => {
  it.each([
    { pattern: '10.0.0.0/8', ip: '10.1.2.3', allowed: true },
    { pattern: '10.0.0.0/8', ip: '11.0.0.1', allowed: false },
    { pattern: '10.0.0.1', ip: '10.0.0.1', allowed: true },
    { pattern: '10.0.0.1', ip: '10.0.0.2', allowed: false },
    { pattern: '192.168.4.0/22', ip: '192.168.7.255', allowed: true },
    { pattern: '192.168.4.0/22', ip: '192.168.8.0', allowed: false },
    // IPv6 forms compare by value (Node prints `2001:DB8:0:0:0:0:0:1`)
    { pattern: '2001:db8::1', ip: '2001:DB8:0:0:0:0:0:1', allowed: true },
    { pattern: '2001:DB8::1', ip: '2001:db8::1', allowed: true },
    { pattern: '2001:db8::/32', ip: '2001:db8:ffff::1', allowed: true },
    { pattern: '2001:db8::/32', ip: '2001:db9::1', allowed: false },
    { pattern: '::/0', ip: '2001:db8::1', allowed: true },
    // IPv4-mapped IPv6 matches as its IPv4 address, both ways
    { pattern: '10.0.0.1', ip: '::ffff:10.0.0.1', allowed: true },
    { pattern: '10.0.0.1', ip: '::ffff:a00:1', allowed: true },
    { pattern: '::ffff:10.0.0.0/104', ip: '10.2.3.4', allowed: true },
    { pattern: '::ffff:10.0.0.1', ip: '10.0.0.1', allowed: true },
    // IPv4-compatible (deprecated, RFC 4291 §2.5.5.1) embeds the same IPv4 address: a deny rule must see it too
    { pattern: '10.0.0.1', ip: '::a00:1', allowed: true },
    { pattern: '10.0.0.0/8', ip: '2001:db8::a00:1', allowed: false },
    // zone ids and junk never match
    { pattern: 'fe80::/10', ip: 'fe80::1%eth0', allowed: false },
    { pattern: '10.0.0.0/8', ip: '10.0.0.1/8', allowed: false },
    { pattern: '10.0.0.0/8', ip: '010.0.0.1', allowed: false },
  ])('$pattern vs IP SAN $ip → $allowed', async ({ pattern, ip, allowed }) => {
    expect(await allows({ san: { ip: pattern } }, { san: { ip: [ip] } })).toBe(allowed);
  });

  it('does not match a DNS SAN spelled like an address (type confusion)', async () => {
    expect(await allows({ san: { ip: '10.0.0.1' } }, { san: { dns: ['10.0.0.1'] } })).toBe(false);
  });
});
