import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { InvalidOptionError } from '../../src/errors.js';
import { peerFromPem } from '../../src/identity/peer-from-pem.js';
import { capturedIo, runCli } from '../helpers/captured-io.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const { path: dir, dispose: removeDir } = temporaryDirectory('explain');
beforeAll(async () => {
  expect(await main(['certs', 'init', '--out', '.'], capturedIo(dir))).toBe(0);
  writeFileSync(join(dir, 'domain.json'), JSON.stringify({ trustDomain: 'example.org' }));
  writeFileSync(join(dir, 'admin.json'), JSON.stringify({ spiffe: 'spiffe://example.org/ns/prod/sa/admin' }));
  writeFileSync(join(dir, 'typo.json'), JSON.stringify({ spife: 'spiffe://example.org/a' }));
  writeFileSync(join(dir, 'broken.json'), '{');
});
afterAll(() => removeDir());

const run = (...argv: string[]) => runCli(['explain', ...argv], { cwd: dir });

describe('peerFromPem', () => {
  it('builds the identity of the leaf, with the fingerprints Node computes and the SPIFFE ID', () => {
    const pem = readFileSync(join(dir, 'client.pem'), 'utf8');
    const peer = peerFromPem(pem);
    const x509 = new X509Certificate(pem);
    expect(peer.fingerprint256).toBe(x509.fingerprint256.replaceAll(':', '').toLowerCase());
    expect(peer.spiffeId).toBe('spiffe://example.org/ns/dev/sa/client');
    expect(peer.subject.toString()).toBe('CN=client,O=koa-mtls development');
    expect({ source: peer.source, verifiedBy: peer.verifiedBy }).toEqual({
      source: 'tls',
      verifiedBy: 'tls-handshake',
    });
  });

  it.each([
    ['no certificate', 'hello', /holds no "BEGIN CERTIFICATE" block/],
    [
      'a key only',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      /holds no "BEGIN CERTIFICATE" block/,
    ],
    [
      'a certificate that does not parse',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      /peerCertificate\(\) would refuse to read/,
    ],
  ])('refuses %s with InvalidOptionError', (_, pem, message) => {
    expect(() => peerFromPem(pem)).toThrow(InvalidOptionError);
    expect(() => peerFromPem(pem)).toThrow(message);
  });
});

describe('koa-mtls explain', () => {
  it('prints the identity and ALLOW with the matching rule, exit 0', async () => {
    const { code, stdout, stderr } = await run('--cert', 'client.pem', '--policy', 'domain.json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('spiffeId     spiffe://example.org/ns/dev/sa/client');
    expect(stdout).toMatch(/decision {5}ALLOW \(POLICY_MATCH, rule policy/);
  });

  it('prints DENY with the rule that failed, exit 1', async () => {
    const { code, stdout } = await run('--cert', 'client.pem', '--policy', 'admin.json');
    expect(code).toBe(1);
    expect(stdout).toContain('decision     DENY (POLICY_NO_MATCH');
    expect(stdout).toContain(
      '  no     policy.spiffe  spiffe in [spiffe://example.org/ns/prod/sa/admin]: no entry matched',
    );
  });

  it('judges validity at --now', async () => {
    const { code, stdout } = await run('--cert', 'client.pem', '--policy', 'domain.json', '--now', '2099-01-01');
    expect(code).toBe(1);
    expect(stdout).toContain('DENY');
  });

  it('prints JSON with --json', async () => {
    const { code, stdout } = await run('--cert', 'client.pem', '--policy', 'domain.json', '--json');
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout) as { identity: { spiffeId: string }; explanation: { allowed: boolean } };
    expect(parsed.identity.spiffeId).toBe('spiffe://example.org/ns/dev/sa/client');
    expect(parsed.explanation.allowed).toBe(true);
  });

  it.each([
    ['a missing --cert', ['--policy', 'domain.json'], /--cert <file> is required/],
    ['an unreadable --cert', ['--cert', 'nope.pem', '--policy', 'domain.json'], /--cert nope.pem: ENOENT/],
    ['a policy that is not JSON', ['--cert', 'client.pem', '--policy', 'broken.json'], /not JSON/],
    ['a policy with a typo', ['--cert', 'client.pem', '--policy', 'typo.json'], /--policy typo.json: .*spife/],
    ['a key as the certificate', ['--cert', 'client-key.pem', '--policy', 'domain.json'], /--cert client-key.pem: /],
    ['a bad --now', ['--cert', 'client.pem', '--policy', 'domain.json', '--now', 'soon'], /--now "soon"/],
  ])('refuses %s with one line, exit 2', async (_, argv, message) => {
    const { code, stderr } = await run(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});
