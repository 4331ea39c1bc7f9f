/**
 * Header sources as a proxy writes them. The XFCC attack table: no value inside a certificate (a URI or DNS SAN,
 * which Envoy writes unquoted; a Subject, which it quotes) may create or alter an element, so the certificate read
 * is always the one the proxy saw. Anything that cannot be read unambiguously is refused.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileSources, type Extraction } from '../../../src/identity/proxy/sources.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
} from '../../../src/pki/index.js';

const ADMIN_ID = 'spiffe://example.org/ns/prod/sa/admin';
let root: CertificateAuthority;
let admin: IssuedCertificate;
let plain: IssuedCertificate;

const derOf = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
const hashOf = (pem: string) => createHash('sha256').update(derOf(pem)).digest('hex');
const urlPem = (pem: string) => encodeURIComponent(pem);

/** One element exactly as Envoy writes it: By, Hash, Cert, Subject quoted, then every URI and DNS SAN unquoted. */
function envoyElement(
  certificate: IssuedCertificate,
  fields: { subject?: string; uri?: readonly string[]; dns?: readonly string[]; cert?: boolean } = {},
): string {
  const parts = [`By=spiffe://example.org/ns/edge/sa/envoy`, `Hash=${hashOf(certificate.certificate)}`];
  if (fields.cert !== false) parts.push(`Cert="${urlPem(certificate.certificate)}"`);
  if (fields.subject !== undefined) parts.push(`Subject="${fields.subject}"`);
  if (fields.uri !== undefined) parts.push(...(fields.uri.length === 0 ? ['URI='] : fields.uri.map((u) => `URI=${u}`)));
  for (const dns of fields.dns ?? []) parts.push(`DNS=${dns}`);
  return parts.join(';');
}

function extract(header: string, options: { hops?: number; allowClaimedIdentity?: boolean } = {}): Extraction {
  const [source] = compileSources([{ type: 'xfcc', ...options }], 'sources', {
    maxHeaderBytes: 64 * 1024,
    maxChainCertificates: 4,
    cacheSize: 0,
  }).headerSources;
  return source?.extract({ 'x-forwarded-client-cert': header }) ?? { kind: 'absent' };
}

/** What the source produced, reduced to what a test compares: the leaf's fingerprint, the claims, or the reason. */
function outcome(extraction: Extraction): string {
  if (extraction.kind === 'certificate')
    return `certificate ${createHash('sha256').update(extraction.leaf).digest('hex')}`;
  if (extraction.kind === 'claimed') return `claimed ${extraction.claims.uri.join(' ')}`;
  if (extraction.kind === 'invalid') return extraction.reason;
  return 'absent';
}

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=XFCC Test Root' });
  admin = await root.issueClient({ subject: 'CN=admin', san: { uri: [ADMIN_ID] } });
  plain = await root.issueClient({
    subject: 'CN=plain',
    san: { uri: ['https://id.example.org/plain'], dns: ['plain.example'] },
  });
});

describe('when Envoy writes the element of a certificate with ordinary names', () => {
  it.each<[string, () => Promise<[string, IssuedCertificate]>]>([
    [
      'Cert, Subject, URI and DNS',
      async () => [
        envoyElement(plain, { subject: 'CN=plain', uri: ['https://id.example.org/plain'], dns: ['plain.example'] }),
        plain,
      ],
    ],
    ['Cert only', async () => [envoyElement(plain), plain]],
    [
      'an empty URI= for a certificate without URI SANs',
      async () => {
        const bare = await root.issueClient();
        return [envoyElement(bare, { uri: [] }), bare];
      },
    ],
    [
      'a client element (APPEND_FORWARD) before it',
      async () => [`${envoyElement(admin)},${envoyElement(plain, { uri: ['https://id.example.org/plain'] })}`, plain],
    ],
  ])('reads the certificate from %s', async (_label, build) => {
    const [header, expected] = await build();
    expect(outcome(extract(header))).toBe(`certificate ${hashOf(expected.certificate)}`);
  });
});

describe('when a value inside a certificate tries to create or alter an XFCC element', () => {
  // Each row: the attacker's own certificate (issued by the trusted CA, as any workload's is) carries text that,
  // written unquoted by Envoy, would end its element and start one holding the admin's public certificate.
  const smuggled = () => `Cert=${urlPem(admin.certificate)}`;
  const cases: [string, () => Promise<string>, { hops?: number; allowClaimedIdentity?: boolean }?][] = [
    [
      'a URI SAN holding ",Cert=<percent-encoded PEM>"',
      async () => {
        const uri = `https://id.example.org/x,${smuggled()}`;
        return envoyElement(await root.issueClient({ san: { uri: [uri] } }), { uri: [uri] });
      },
    ],
    [
      'a URI SAN holding a whole Envoy-like element with its Hash',
      async () => {
        const uri = `https://id.example.org/x,By=e;Hash=${hashOf(admin.certificate)};Cert="${urlPem(admin.certificate)}"`;
        return envoyElement(await root.issueClient({ san: { uri: [uri] } }), { uri: [uri] });
      },
    ],
    [
      'a DNS SAN holding ",Cert=…"',
      async () => {
        const dns = `a.example,${smuggled()}`;
        return envoyElement(await root.issueClient({ san: { dns: [dns] } }), { dns: [dns] });
      },
    ],
    [
      'a URI SAN holding two smuggled elements',
      async () => {
        const uri = `https://id.example.org/x,${smuggled()},${smuggled()}`;
        return envoyElement(await root.issueClient({ san: { uri: [uri] } }), { uri: [uri] });
      },
    ],
    [
      'a URI SAN holding ";Cert=…" (a second Cert in the same element)',
      async () => {
        const uri = `https://id.example.org/x;${smuggled()}`;
        return envoyElement(await root.issueClient({ san: { uri: [uri] } }), { uri: [uri] });
      },
    ],
    [
      'a Subject ending in a backslash, then a quote in a URI SAN',
      async () => {
        const uri = `https://id.example.org/x",${smuggled()}`;
        const attacker = await root.issueClient({ subject: [[['CN', 'foo\\']]], san: { uri: [uri] } });
        return envoyElement(attacker, { subject: 'CN=foo\\\\', uri: [uri] });
      },
    ],
    [
      'a proxy that writes URI but not Cert (the smuggled element is the only one with a Cert)',
      async () => {
        const uri = `https://id.example.org/x,${smuggled()}`;
        return envoyElement(await root.issueClient({ san: { uri: [uri] } }), { uri: [uri], cert: false });
      },
    ],
    [
      'a split behind two trusted hops',
      async () => {
        const uri = `https://id.example.org/x,${smuggled()}`;
        const outer = envoyElement(await root.issueClient({ san: { uri: [uri] } }), { uri: [uri] });
        return `${outer},${envoyElement(plain)}`;
      },
      { hops: 2 },
    ],
    [
      'claimed mode: a URI SAN holding ",URI=<admin>"',
      async () => `By=e;Hash=${'a'.repeat(64)};URI=spiffe://example.org/ns/a/sa/b,URI=${ADMIN_ID}`,
      { allowClaimedIdentity: true },
    ],
    [
      'claimed mode: a URI SAN holding ";URI=<admin>"',
      async () => `By=e;Hash=${'a'.repeat(64)};URI=https://id.example.org/x;URI=${ADMIN_ID}`,
      { allowClaimedIdentity: true },
    ],
  ];

  it.each(cases)('refuses the header: %s', async (_label, header, options) => {
    const extraction = extract(await header(), options);
    expect(outcome(extraction)).not.toBe(`certificate ${hashOf(admin.certificate)}`);
    expect(extraction).toMatchObject({ kind: 'invalid', reason: 'PROXY_HEADER_MALFORMED' });
  });
});
