import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { x509 } from '../../src/x509/runtime.js';
import { capturedIo } from '../helpers/captured-io.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

let dir: string;
let removeDir: () => void;
beforeEach(() => {
  ({ path: dir, dispose: removeDir } = temporaryDirectory('cli'));
});
afterEach(() => removeDir());

const mode = (file: string) => statSync(join(dir, file)).mode & 0o777;

describe('koa-mtls certs init', () => {
  it('writes a CA, a server and a client certificate, keys at 0600, and prints a curl line', async () => {
    const io = capturedIo(dir);
    expect(await main(['certs', 'init', '--out', 'pki'], io)).toBe(0);
    const out = join(dir, 'pki');
    expect(readdirSync(out).sort()).toEqual([
      'ca-key.pem',
      'ca.pem',
      'client-key.pem',
      'client.pem',
      'server-key.pem',
      'server.pem',
    ]);
    for (const key of ['ca-key.pem', 'server-key.pem', 'client-key.pem']) expect(mode(join('pki', key))).toBe(0o600);
    expect(mode('pki/ca.pem')).toBe(0o644);
    const ca = new X509Certificate(readFileSync(join(out, 'ca.pem')));
    const server = new X509Certificate(readFileSync(join(out, 'server.pem')));
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(io.out()).toContain(`wrote ${join(out, 'client-key.pem')} (0600)`);
    expect(io.out()).toContain(
      `curl --cacert ${join(out, 'ca.pem')} --cert ${join(out, 'client.pem')} --key ${join(out, 'client-key.pem')}`,
    );
    expect(io.err()).toBe('');
  });

  it('writes a PKCS#12 bundle when asked, with an RSA key', async () => {
    const io = capturedIo(dir);
    expect(await main(['certs', 'init', '--out', '.', '--key-type', 'rsa-2048', '--p12-password', 'pw'], io)).toBe(0);
    expect(mode('client.p12')).toBe(0o600);
  });

  it.each([
    ['an unknown flag', ['--out', 'x', '--frobnicate'], /Unknown option '--frobnicate'/],
    ['a missing --out', [], /--out DIR is required/],
    ['a malformed SAN', ['--out', 'x', '--client-san', 'dns'], /malformed SAN "dns"/],
    ['a SAN of an unknown type', ['--out', 'x', '--client-san', 'rfc822:a@b'], /malformed SAN "rfc822:a@b"/],
    ['an invalid IP SAN', ['--out', 'x', '--server-san', 'ip:300.1.1.1'], /not a valid ip value/],
    ['an invalid DNS SAN', ['--out', 'x', '--server-san', 'dns:a b.example'], /not a valid dns value/],
    ['a malformed subject', ['--out', 'x', '--client-subject', 'CN'], /malformed --subject/],
    ['an unknown key type', ['--out', 'x', '--key-type', 'dsa'], /unknown --key-type "dsa"/],
    ['a PKCS#12 password with an EC key', ['--out', 'x', '--p12-password', 'pw'], /needs an RSA key/],
    ['bad days', ['--out', 'x', '--days', '0'], /--days must be 1..3650/],
    ['a key type mtlsOptions refuses', ['--out', 'x', '--key-type', 'rsa-1024'], /mtlsOptions refuses.*--allow-weak/],
    [
      'a bare SPIFFE ID as a SAN, suggesting uri:',
      ['--out', 'x', '--client-san', 'spiffe://example.org/a'],
      /did you mean "uri:spiffe:\/\/example.org\/a"\?/,
    ],
    ['a bare https URI as a SAN', ['--out', 'x', '--server-san', 'https://a.example'], /did you mean "uri:https:/],
  ])('refuses %s with one line on stderr, exit 2, and writes nothing', async (_, args, message) => {
    const io = capturedIo(dir);
    expect(await main(['certs', 'init', ...args], io)).toBe(2);
    expect(io.err()).toMatch(message);
    expect(io.err().trim().split('\n')).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('gives the client a SPIFFE ID by default, so SPIFFE policies and the quick start match it', async () => {
    expect(await main(['certs', 'init', '--out', '.'], capturedIo(dir))).toBe(0);
    const client = new X509Certificate(readFileSync(join(dir, 'client.pem')));
    expect(client.subjectAltName).toBe('URI:spiffe://example.org/ns/dev/sa/client');
  });

  it('writes rsa-1024 only with --allow-weak, and then warns on stderr', async () => {
    const io = capturedIo(dir);
    expect(await main(['certs', 'init', '--out', '.', '--key-type', 'rsa-1024', '--allow-weak'], io)).toBe(0);
    expect(io.err()).toContain('WARNING: rsa-1024 keys are weak; mtlsOptions will refuse these certificates');
  });

  it('prints the mtlsOptions file names and a labelled curl line', async () => {
    const io = capturedIo(dir);
    expect(await main(['certs', 'init', '--out', '.'], io)).toBe(0);
    expect(io.out()).toContain(
      `{ keyFile: '${join(dir, 'server-key.pem')}', certFile: '${join(dir, 'server.pem')}', caFile: '${join(dir, 'ca.pem')}' }`,
    );
    expect(io.out()).toMatch(/https:\/\/localhost:8443\/ {3}# the client certificate\n$/);
  });

  it('overwrites nothing without --force, and everything with it', async () => {
    writeFileSync(join(dir, 'client.pem'), 'keep me');
    const io = capturedIo(dir);
    expect(await main(['certs', 'init', '--out', '.'], io)).toBe(2);
    expect(io.err()).toContain(`${join(dir, 'client.pem')} exists; pass --force to overwrite`);
    expect(readdirSync(dir)).toEqual(['client.pem']);
    expect(readFileSync(join(dir, 'client.pem'), 'utf8')).toBe('keep me');
    expect(await main(['certs', 'init', '--out', '.', '--force'], capturedIo(dir))).toBe(0);
    expect(readFileSync(join(dir, 'client.pem'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });
});

describe('koa-mtls certs server|client|revoke', () => {
  it('issues more certificates from the CA in the directory, then revokes one into crl.pem', async () => {
    expect(await main(['certs', 'init', '--out', '.'], capturedIo(dir))).toBe(0);
    const io = capturedIo(dir);
    const args = [
      'certs',
      'client',
      '--out',
      '.',
      '--name',
      'api',
      '--subject',
      'CN=api,O=Acme',
      '--san',
      'uri:spiffe://example.org/ns/prod/sa/api',
    ];
    expect(await main(args, io)).toBe(0);
    const api = new X509Certificate(readFileSync(join(dir, 'api.pem')));
    expect(api.subject).toBe('O=Acme\nCN=api');
    expect(api.subjectAltName).toBe('URI:spiffe://example.org/ns/prod/sa/api');
    expect(mode('api-key.pem')).toBe(0o600);

    expect(
      await main(['certs', 'server', '--out', '.', '--name', 'edge', '--san', 'dns:edge.example.com'], capturedIo(dir)),
    ).toBe(0);
    expect(new X509Certificate(readFileSync(join(dir, 'edge.pem'))).subjectAltName).toBe('DNS:edge.example.com');

    expect(await main(['certs', 'revoke', '--out', '.', '--cert', 'api.pem'], capturedIo(dir))).toBe(0);
    expect(await main(['certs', 'revoke', '--out', '.', '--serial', 'AB:CD'], capturedIo(dir))).toBe(0);
    const crl = new x509.X509Crl(readFileSync(join(dir, 'crl.pem'), 'utf8'));
    expect(crl.entries.map((entry) => entry.serialNumber.toLowerCase()).sort()).toEqual(
      ['abcd', api.serialNumber.toLowerCase()].sort(),
    );
  });

  it.each([
    ['client without a CA', ['certs', 'client', '--out', 'nowhere'], /no CA in .*nowhere/],
    ['revoke with nothing to revoke', ['certs', 'revoke', '--out', '.'], /nothing to revoke/],
    ['revoke with a bad serial', ['certs', 'revoke', '--out', '.', '--serial', 'xyz'], /not a hex serial/],
    ['an unknown subcommand', ['certs', 'sign'], /unknown subcommand "sign"/],
    ['a name with a slash', ['certs', 'client', '--out', '.', '--name', '../x'], /--name must be a plain file name/],
  ])('refuses %s with exit 2', async (_, args, message) => {
    const io = capturedIo(dir);
    expect(await main(args, io)).toBe(2);
    expect(io.err()).toMatch(message);
  });

  it('prints help for each command with exit 0', async () => {
    for (const sub of ['init', 'server', 'client', 'revoke']) {
      const io = capturedIo(dir);
      expect(await main(['certs', sub, '--help'], io)).toBe(0);
      expect(io.out()).toContain(`Usage: koa-mtls certs ${sub}`);
    }
    const io = capturedIo(dir);
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toContain('certs');
  });
});
