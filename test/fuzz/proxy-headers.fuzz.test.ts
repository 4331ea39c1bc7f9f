import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createName, type ParsedAttribute } from '../../src/identity/distinguished-name.js';
import { MalformedHeaderError } from '../../src/identity/proxy/certificate-encodings.js';
import { parseDistinguishedNameString } from '../../src/identity/proxy/dn-string.js';
import { compileSources } from '../../src/identity/proxy/sources.js';
import { parseByteSequenceItem, parseByteSequenceList } from '../../src/identity/proxy/structured-field.js';
import { parseXfcc } from '../../src/identity/proxy/xfcc.js';
import { createCertificateAuthority } from '../../src/pki/index.js';
import { attributeShortName } from '../../src/x509/attribute-types.js';
import { cheapRuns } from './fuzz-runs.js';

/**
 * The header parsers behind proxy sources (Envoy XFCC, RFC 9440 Client-Cert / Client-Cert-Chain, RFC 4514 subjects):
 * arbitrary strings and structured mutations of valid headers. Properties: only MalformedHeaderError escapes a
 * parser; a compiled source never throws at all (it turns every failure into an `invalid` extraction); printing
 * and parsing round-trip; a header printed the way Envoy prints it never parses into a *different* header.
 */
const XFCC_LIMITS = { maxElements: 16, maxPairs: 64 };

/** Runs `parse`; returns its result, or undefined when it threw MalformedHeaderError (anything else propagates). */
function parsedOrMalformed<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (error instanceof MalformedHeaderError) return undefined;
    throw error;
  }
}

// Characters that matter to the grammars, mixed with ordinary text.
const grammarChar = fc.constantFrom(
  ...[',', ';', '=', '"', '\\', ' ', '\t', ':', '+', '#', '/', '%', 'a', 'B', '0', 'é', '\u0000', '\r', '😀'],
);
const headerText = fc.oneof(
  fc.string({ unit: grammarChar, maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

type Element = [key: string, value: string][];
const xfccKey = fc.stringMatching(/^[A-Za-z0-9_-]{1,6}$/);
const xfccValue = fc.string({ unit: fc.oneof(grammarChar, fc.constantFrom('x', 'URI', 'y')), maxLength: 12 });
const elements = fc.array(fc.array(fc.tuple(xfccKey, xfccValue), { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 3,
});

/** Prints a value the way Envoy does: quoted when it holds `,;="` or edge whitespace, escaping only `"`. */
function envoyValue(value: string): string {
  return /[,;="]|^[ \t]|[ \t]$/.test(value) ? `"${value.replaceAll('"', '\\"')}"` : value;
}
const printXfcc = (header: readonly Element[]) =>
  header.map((element) => element.map(([key, value]) => `${key}=${envoyValue(value)}`).join(';')).join(',');
const asEntries = (header: readonly Element[]) =>
  header.map((element) => {
    const map = new Map<string, string[]>();
    for (const [key, value] of element) map.set(key.toLowerCase(), [...(map.get(key.toLowerCase()) ?? []), value]);
    return [...map.entries()];
  });

describe('when the XFCC parser gets arbitrary input', () => {
  it('returns elements or throws MalformedHeaderError, and stays within its bounds', () => {
    fc.assert(
      fc.property(headerText, (header) => {
        const parsed = parsedOrMalformed(() => parseXfcc(header, XFCC_LIMITS));
        if (parsed === undefined) return;
        expect(parsed.length).toBeGreaterThan(0);
        expect(parsed.length).toBeLessThanOrEqual(XFCC_LIMITS.maxElements);
        for (const element of parsed) for (const key of element.keys()) expect(key).toMatch(/^[a-z0-9_-]+$/);
      }),
      { numRuns: cheapRuns(3000) },
    );
  });

  it('round-trips every header it can print (quoted values without a backslash before a quote or at the end)', () => {
    // Inside quotes a backslash takes the next character with it, so a value's own `\"` or final `\` has no spelling.
    const printable = elements.filter((header) =>
      header.every((element) => element.every(([, value]) => !/\\(?:$|")/.test(value) || envoyValue(value) === value)),
    );
    fc.assert(
      fc.property(printable, (header) => {
        const parsed = parseXfcc(printXfcc(header), XFCC_LIMITS);
        expect(parsed.map((element) => [...element.entries()])).toEqual(asEntries(header));
      }),
      { numRuns: cheapRuns(2000) },
    );
  });

  it('never parses an Envoy-printed header into a different header (refusing it is fine)', () => {
    fc.assert(
      fc.property(elements, (header) => {
        const parsed = parsedOrMalformed(() => parseXfcc(printXfcc(header), XFCC_LIMITS));
        if (parsed !== undefined) expect(parsed.map((element) => [...element.entries()])).toEqual(asEntries(header));
      }),
      { numRuns: cheapRuns(3000) },
    );
  });
});

describe('when the RFC 9440 parsers get arbitrary input', () => {
  const bytes = fc.uint8Array({ minLength: 1, maxLength: 48 });
  const parameters = fc
    .array(
      fc.tuple(fc.stringMatching(/^[a-z*][a-z0-9_.*-]{0,4}$/), fc.constantFrom('', '=1', '=?0', '=tok', '=-2.5')),
      {
        maxLength: 3,
      },
    )
    .map((list) => list.map(([key, value]) => `;${key}${value}`).join(''));
  const item = fc
    .tuple(bytes, parameters)
    .map(([b, p]) => ({ bytes: b, text: `:${Buffer.from(b).toString('base64')}:${p}` }));

  it('returns bytes or throws MalformedHeaderError, for items and lists', () => {
    fc.assert(
      fc.property(headerText, fc.integer({ min: 0, max: 8 }), (value, limit) => {
        parsedOrMalformed(() => parseByteSequenceItem(value));
        const list = parsedOrMalformed(() => parseByteSequenceList(value, limit));
        if (list !== undefined) expect(list.length).toBeLessThanOrEqual(limit);
      }),
      { numRuns: cheapRuns(3000) },
    );
  });

  it('round-trips printed items and lists, parameters ignored', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 5 }), fc.constantFrom(',', ', ', ' ,\t'), (items, glue) => {
        const first = items[0] as (typeof items)[number];
        expect(Array.from(parseByteSequenceItem(` ${first.text} `))).toEqual(Array.from(first.bytes));
        const list = parseByteSequenceList(items.map((i) => i.text).join(glue), 8);
        expect(list.map((b) => Array.from(b))).toEqual(items.map((i) => Array.from(i.bytes)));
      }),
      { numRuns: cheapRuns(1000) },
    );
  });
});

describe('when the RFC 4514 subject parser gets arbitrary input', () => {
  const OIDS = [
    '2.5.4.3',
    '2.5.4.10',
    '2.5.4.11',
    '0.9.2342.19200300.100.1.1',
    '0.9.2342.19200300.100.1.25',
    '2.5.4.99',
  ];
  // BMP only: non-BMP characters are a known failure (see certificate-names.fuzz.test.ts).
  const value = fc
    .string({
      unit: fc.oneof(
        grammarChar,
        fc.constantFrom('<', '>', '\u0001', '\u007f', '漢'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      ),
      maxLength: 10,
    })
    .filter((text) => !text.includes('\u0000') && [...text].every((c) => (c.codePointAt(0) as number) <= 0xffff));
  const attribute = fc
    .tuple(fc.constantFrom(...OIDS), value)
    .map(([oid, text]): ParsedAttribute => ({ oid, shortName: attributeShortName(oid), value: text, hex: false }));
  const name = fc.array(fc.array(attribute, { minLength: 1, maxLength: 3 }), { maxLength: 5 });

  it('parses the printed form of any name back to the same name', () => {
    fc.assert(
      fc.property(name, (rdns) => {
        const printed = createName(rdns);
        const reparsed = parseDistinguishedNameString(printed.toString());
        expect(reparsed.rdns).toEqual(printed.rdns);
        expect(reparsed.toString()).toBe(printed.toString());
      }),
      { numRuns: cheapRuns(3000) },
    );
  });

  /** Prints a name the way OpenSSL's XN_FLAG_RFC2253 does (what Envoy puts in XFCC `Subject`): bytes ≥ 0x80 as `\\XX`. */
  function opensslRfc2253(rdns: readonly (readonly ParsedAttribute[])[]): string {
    const escapeValue = (value: string) => {
      const bytes = Buffer.from(value, 'utf8');
      return Array.from(bytes, (byte, index) => {
        const char = String.fromCharCode(byte);
        if (byte >= 0x80 || byte < 0x20 || byte === 0x7f)
          return `\\${byte.toString(16).toUpperCase().padStart(2, '0')}`;
        if (',+"\\<>;'.includes(char)) return `\\${char}`;
        if ((index === 0 && (char === ' ' || char === '#')) || (index === bytes.length - 1 && char === ' ')) {
          return `\\${char}`;
        }
        return char;
      }).join('');
    };
    return [...rdns]
      .reverse()
      .map((rdn) => rdn.map((a) => `${a.shortName ?? a.oid}=${escapeValue(a.value)}`).join('+'))
      .join(',');
  }

  it('reads names printed the way OpenSSL (and so Envoy) prints them, any Unicode character included', () => {
    const anyValue = fc
      .string({ unit: fc.oneof(grammarChar, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 10 })
      .filter((text) => !text.includes('\u0000'));
    const anyAttribute = fc
      .tuple(fc.constantFrom(...OIDS), anyValue)
      .map(([oid, text]): ParsedAttribute => ({ oid, shortName: attributeShortName(oid), value: text, hex: false }));
    fc.assert(
      fc.property(fc.array(fc.array(anyAttribute, { minLength: 1, maxLength: 3 }), { maxLength: 5 }), (rdns) => {
        expect(parseDistinguishedNameString(opensslRfc2253(rdns)).rdns).toEqual(createName(rdns).rdns);
      }),
      { numRuns: cheapRuns(3000) },
    );
  });

  it('parses or throws MalformedHeaderError, and what it parses prints to a fixed point', () => {
    const dnText = fc.oneof(
      headerText,
      fc.string({
        unit: fc.constantFrom('CN=', 'O=', ',', '+', '\\', '\\2', '#', '41', ' ', 'a', '"', '=', 'uid='),
        maxLength: 16,
      }),
    );
    fc.assert(
      fc.property(dnText, (text) => {
        const parsed = parsedOrMalformed(() => parseDistinguishedNameString(text));
        if (parsed === undefined) return;
        const printed = parsed.toString();
        expect(parseDistinguishedNameString(printed).toString()).toBe(printed);
      }),
      { numRuns: cheapRuns(3000) },
    );
  });
});

describe('when compiled proxy sources read hostile headers', () => {
  const limits = { maxHeaderBytes: 16_384, maxChainCertificates: 4, cacheSize: 0 };
  const sources = compileSources(
    [
      { type: 'xfcc', allowClaimedIdentity: true },
      'client-cert',
      'nginx',
      { type: 'header', header: 'x-pem', encoding: 'pem' },
      { type: 'header', header: 'x-der', encoding: 'base64-der' },
    ],
    'sources',
    limits,
  );
  let xfcc: string;
  let der: string;
  let urlPem: string;

  beforeAll(async () => {
    const ca = await createCertificateAuthority();
    const client = await ca.issueClient({ san: { uri: ['spiffe://example.org/ns/a/sa/b'] } });
    const derBytes = Buffer.from(client.certificate.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    der = derBytes.toString('base64');
    urlPem = encodeURIComponent(client.certificate);
    const hash = createHash('sha256').update(derBytes).digest('hex');
    xfcc = `By=spiffe://example.org/ns/proxy;Hash=${hash};Cert="${urlPem}";Subject="CN=a,O=b";URI=spiffe://example.org/ns/a/sa/b`;
  });

  const edit = fc.oneof(
    fc.record({
      at: fc.nat(),
      remove: fc.integer({ min: 0, max: 3 }),
      insert: fc.string({ unit: grammarChar, maxLength: 3 }),
    }),
  );
  const mutate = (text: string, edits: readonly { at: number; remove: number; insert: string }[]) =>
    edits.reduce((t, e) => {
      const at = e.at % (t.length + 1);
      return t.slice(0, at) + e.insert + t.slice(at + e.remove);
    }, text);

  it('never throws: every mutated or arbitrary header becomes absent, a certificate, a claim or invalid', () => {
    fc.assert(
      fc.property(
        fc.array(edit, { maxLength: 4 }),
        fc.constantFrom('xfcc', 'client-cert', 'client-cert-chain', 'nginx', 'pem', 'der'),
        headerText,
        fc.boolean(),
        (edits, target, noise, useNoise) => {
          const valid: Record<string, [string, string]> = {
            xfcc: ['x-forwarded-client-cert', xfcc],
            'client-cert': ['client-cert', `:${der}:`],
            'client-cert-chain': ['client-cert-chain', `:${der}:, :${der}:`],
            nginx: ['x-ssl-client-cert', urlPem],
            pem: ['x-pem', decodeURIComponent(urlPem).replaceAll('\n', ' ')],
            der: ['x-der', der],
          };
          const [name, value] = valid[target] as [string, string];
          const headers = { [name]: useNoise ? noise : mutate(value, edits) };
          for (const source of sources.headerSources) {
            const extraction = source.extract(headers);
            expect(['absent', 'certificate', 'claimed', 'invalid']).toContain(extraction.kind);
          }
        },
      ),
      { numRuns: cheapRuns(1500) },
    );
  });

  it('still reads the unmutated headers (the property above is not vacuous)', () => {
    const kinds = sources.headerSources.map(
      (source) =>
        source.extract({
          'x-forwarded-client-cert': xfcc,
          'client-cert': `:${der}:`,
          'x-ssl-client-cert': urlPem,
          'x-pem': decodeURIComponent(urlPem),
          'x-der': der,
        }).kind,
    );
    expect(kinds).toEqual(['certificate', 'certificate', 'certificate', 'certificate', 'certificate']);
  });
});
