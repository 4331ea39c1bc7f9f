import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileDnsPattern,
  dnsLabelPath,
  matchesDnsPattern,
  normalizePeerDnsName,
} from '../../src/authz/matchers/dns.js';
import { ipInBlock, parseIpAddress, parseIpBlock } from '../../src/authz/matchers/ip.js';
import { compileSpiffePattern, matchesSpiffePattern, parsePeerSpiffeId } from '../../src/authz/matchers/spiffe.js';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const labels = (min: number, max: number) => fc.array(label, { minLength: min, maxLength: max });

function dnsMatches(pattern: string, name: string): boolean {
  const normalized = normalizePeerDnsName(name);
  if (normalized === undefined) return false;
  return matchesDnsPattern(compileDnsPattern(pattern), normalized, dnsLabelPath(normalized));
}

describe('properties', () => {
  it("DNS '*' matches exactly one label, never across labels", () => {
    fc.assert(
      fc.property(labels(1, 3), labels(1, 4), (base, prefix) => {
        const pattern = `*.${base.join('.')}`;
        const name = `${prefix.join('.')}.${base.join('.')}`;
        expect(dnsMatches(pattern, name)).toBe(prefix.length === 1);
      }),
    );
  });

  it("DNS '**' matches one or more labels, never the base itself", () => {
    fc.assert(
      fc.property(labels(1, 3), labels(0, 4), (base, prefix) => {
        const name = [...prefix, ...base].join('.');
        expect(dnsMatches(`**.${base.join('.')}`, name)).toBe(prefix.length >= 1);
      }),
    );
  });

  it('DNS matching ignores case', () => {
    fc.assert(
      fc.property(labels(2, 4), fc.boolean(), (name, upperPattern) => {
        const text = name.join('.');
        const pattern = upperPattern ? text.toUpperCase() : text;
        expect(dnsMatches(pattern, upperPattern ? text : text.toUpperCase())).toBe(true);
      }),
    );
  });

  it("SPIFFE '/**' under a path matches only at segment boundaries", () => {
    const segment = fc.stringMatching(/^[a-z0-9]{1,6}$/);
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        segment,
        fc.string({ maxLength: 4 }),
        (path, next, glue) => {
          const pattern = compileSpiffePattern(`spiffe://example.org/${path.join('/')}/**`);
          const id = parsePeerSpiffeId(`spiffe://example.org/${path.join('/')}${glue}${next}`);
          if (id === undefined) return;
          const boundary = glue.startsWith('/');
          expect(matchesSpiffePattern(pattern, id)).toBe(boundary);
        },
      ),
    );
  });

  it('an IPv4 address is inside its own /n block and IPv4-mapped forms agree', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (address, prefix) => {
        const bytes = parseIpAddress(address);
        const mapped = parseIpAddress(`::ffff:${address}`);
        expect(mapped?.v4).toEqual(bytes?.v4);
        const network = Number(
          (address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(part), 0n) >> BigInt(32 - prefix)) <<
            BigInt(32 - prefix),
        );
        const text = [24, 16, 8, 0].map((shift) => (network >>> shift) & 0xff).join('.');
        const block = parseIpBlock(`${text}/${prefix}`);
        expect(block).toBeDefined();
        expect(bytes !== undefined && block !== undefined && ipInBlock(bytes, block)).toBe(true);
      }),
    );
  });

  it('IPv6 addresses compare by value whatever their spelling', () => {
    fc.assert(
      fc.property(fc.ipV6(), (address) => {
        const parsed = parseIpAddress(address);
        const bytes = parsed?.v6;
        if (bytes === undefined) return;
        const expanded = Array.from({ length: bytes.length / 2 }, (_, index) =>
          (((bytes[index * 2] ?? 0) << 8) | (bytes[index * 2 + 1] ?? 0)).toString(16).toUpperCase(),
        ).join(':');
        expect(parseIpAddress(expanded)).toEqual(parsed);
      }),
    );
  });
});
