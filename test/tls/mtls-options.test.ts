/**
 * `mtlsOptions`: the strict option set it returns, and every refusal with its code and message.
 */
import { constants, createPrivateKey } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError, KoaMtlsError } from '../../src/errors.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { type MtlsOptionsInput, mtlsOptions } from '../../src/tls/mtls-options.js';
import { supportsHybridPostQuantum } from '../../src/tls/profile.js';
import type { MtlsWarning } from '../../src/tls/warnings.js';
import { temporaryDirectory, writeFile } from '../helpers/temporary-directory.js';

const DAY = 86_400_000;
const dir = temporaryDirectory('options');
let root: CertificateAuthority;
let otherRoot: CertificateAuthority;
let server: IssuedCertificate;
type PemName =
  | 'key'
  | 'cert'
  | 'ca'
  | 'otherKey'
  | 'clientCert'
  | 'intermediate'
  | 'expiredCert'
  | 'expiredKey'
  | 'futureCert'
  | 'futureKey'
  | 'clientEkuCert'
  | 'clientEkuKey'
  | 'rsa1024Cert'
  | 'rsa1024Key'
  | 'sha1Cert'
  | 'sha1Key'
  | 'expiringCert'
  | 'expiringKey'
  | 'weakCa'
  | 'expiredCa'
  | 'crl'
  | 'otherCrl'
  | 'impostorCrl'
  | 'staleCrl'
  | 'encryptedKey';
const pem = {} as Record<PemName, string>;
const path = {} as Record<'key' | 'cert' | 'ca' | 'worldReadableKey' | 'garbage' | 'truncated' | 'directory', string>;

/** A quiet hook, so the tests do not print process warnings. */
const warnings: MtlsWarning[] = [];
const onWarning = (warning: MtlsWarning) => {
  warnings.push(warning);
};

beforeAll(async () => {
  const now = Date.now();
  root = await createCertificateAuthority({ subject: 'CN=Options Root' });
  otherRoot = await createCertificateAuthority({ subject: 'CN=Options Other Root' });
  const sameNameImpostor = await createCertificateAuthority({ subject: 'CN=Options Root' });
  const intermediate = await root.createIntermediate({ subject: 'CN=Options Intermediate' });
  server = await root.issueServer();
  const client = await root.issueClient({ subject: 'CN=a-client' });
  const other = await root.issueServer();
  const expired = await root.issueServer({ notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) });
  const future = await root.issueServer({ notBefore: new Date(now + DAY), notAfter: new Date(now + 10 * DAY) });
  const clientEku = await root.issueServer({ extendedKeyUsage: ['clientAuth'] });
  const rsa1024 = await root.issueServer({ keyAlgorithm: 'rsa-1024' });
  const sha1 = await root.issueServer({ signatureHash: 'SHA-1' });
  const expiring = await root.issueServer({ notBefore: new Date(now - 28 * DAY), notAfter: new Date(now + 2 * DAY) });
  const weakRoot = await createCertificateAuthority({ subject: 'CN=Weak Root', keyAlgorithm: 'rsa-1024' });
  const expiredRoot = await createCertificateAuthority({
    subject: 'CN=Expired Root',
    notBefore: new Date(now - 20 * DAY),
    notAfter: new Date(now - DAY),
  });
  Object.assign(pem, {
    key: server.key,
    cert: server.chain,
    ca: root.root,
    otherKey: other.key,
    clientCert: client.certificate,
    intermediate: intermediate.certificate,
    expiredCert: expired.chain,
    expiredKey: expired.key,
    futureCert: future.chain,
    futureKey: future.key,
    clientEkuCert: clientEku.chain,
    clientEkuKey: clientEku.key,
    rsa1024Cert: rsa1024.chain,
    rsa1024Key: rsa1024.key,
    sha1Cert: sha1.chain,
    sha1Key: sha1.key,
    expiringCert: expiring.chain,
    expiringKey: expiring.key,
    weakCa: weakRoot.root,
    expiredCa: expiredRoot.root,
    crl: await root.createCrl(),
    otherCrl: await otherRoot.createCrl(),
    impostorCrl: await sameNameImpostor.createCrl(),
    staleCrl: await root.createCrl({
      thisUpdate: new Date(now - 10 * DAY),
      nextUpdate: new Date(now - DAY),
    }),
    encryptedKey: createPrivateKey(server.key).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'correct horse',
    }) as string,
  });
  path.key = writeFile(dir.path, 'tls.key', server.key, 0o600);
  path.cert = writeFile(dir.path, 'tls.crt', server.chain, 0o644);
  path.ca = writeFile(dir.path, 'ca.crt', root.root, 0o644);
  path.worldReadableKey = writeFile(dir.path, 'open.key', server.key, 0o644);
  path.garbage = writeFile(dir.path, 'garbage.crt', 'this is not a certificate\n');
  path.truncated = writeFile(
    dir.path,
    'truncated.crt',
    server.certificate.slice(0, 200).concat('\n-----END CERTIFICATE-----\n'),
  );
  path.directory = join(dir.path, 'a-directory');
  mkdirSync(path.directory);
});

afterAll(() => dir.dispose());

/** A valid inline input, with `change` applied. */
function valid(change: Readonly<Record<string, unknown>> = {}): MtlsOptionsInput {
  return { key: pem.key, cert: pem.cert, ca: pem.ca, onWarning, ...change } as MtlsOptionsInput;
}

function refusal(input: () => MtlsOptionsInput): KoaMtlsError {
  try {
    mtlsOptions(input());
  } catch (error) {
    if (error instanceof KoaMtlsError) return error;
    throw error;
  }
  throw new Error('mtlsOptions did not refuse');
}

describe('when the configuration is complete and strong', () => {
  it('returns the strict modern option set', () => {
    const options = mtlsOptions(valid());
    expect(options).toMatchObject({
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      honorCipherOrder: true,
      sessionTimeout: 300,
      handshakeTimeout: 10_000,
      enableTrace: false,
    });
    expect(options.ciphers.endsWith(':@SECLEVEL=2')).toBe(true);
    // Mozilla 6.0: TLS 1.3 suites and ECDHE AEAD suites only (no CBC, no DHE, no static RSA)
    for (const suite of options.ciphers.split(':').slice(0, -1)) {
      expect(suite).toMatch(
        /^(TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)|ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305))$/,
      );
    }
    expect(options.secureOptions & constants.SSL_OP_NO_RENEGOTIATION).toBe(constants.SSL_OP_NO_RENEGOTIATION);
    expect(options.secureOptions & constants.SSL_OP_NO_TICKET).toBe(0);
    expect(options.sessionIdContext).toMatch(/^[0-9a-f]{32}$/);
    expect(options.ca).toContain('-----BEGIN CERTIFICATE-----');
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('chooses groups by the OpenSSL version in use', () => {
    const { ecdhCurve } = mtlsOptions(valid());
    const hybrid = supportsHybridPostQuantum(process.versions.openssl);
    expect(ecdhCurve).toBe(`${hybrid ? 'X25519MLKEM768:' : ''}X25519:prime256v1:secp384r1`);
  });

  it('allows TLS 1.2 with the intermediate profile', () => {
    expect(mtlsOptions(valid({ profile: 'intermediate' })).minVersion).toBe('TLSv1.2');
    expect(mtlsOptions(valid({ profile: 'intermediate', minVersion: 'TLSv1.3' })).minVersion).toBe('TLSv1.3');
  });

  it('reads files, following the paths given', () => {
    const options = mtlsOptions({ keyFile: path.key, certFile: path.cert, caFile: path.ca, onWarning });
    expect(options.key).toBe(pem.key);
    expect(options.cert.trim()).toBe(pem.cert.trim());
  });

  it('turns session tickets off when sessionResumption is false', () => {
    const { secureOptions } = mtlsOptions(valid({ sessionResumption: false }));
    expect(secureOptions & constants.SSL_OP_NO_TICKET).toBe(constants.SSL_OP_NO_TICKET);
  });

  it('derives sessionIdContext from the trust anchors and CRLs', () => {
    const base = mtlsOptions(valid()).sessionIdContext;
    expect(mtlsOptions(valid()).sessionIdContext).toBe(base);
    expect(mtlsOptions(valid({ ca: [pem.ca, otherRoot.root] as never })).sessionIdContext).not.toBe(base);
    expect(mtlsOptions(valid({ crl: pem.crl })).sessionIdContext).not.toBe(base);
    expect(mtlsOptions(valid({ profile: 'intermediate' })).sessionIdContext).not.toBe(base);
  });

  it('accepts an encrypted key with its passphrase', () => {
    const options = mtlsOptions(valid({ key: pem.encryptedKey, passphrase: 'correct horse' }));
    expect(options.passphrase).toBe('correct horse');
  });

  it('never mutates the caller object', () => {
    const input = Object.freeze(valid({ profile: 'intermediate' }));
    const copy = { ...input };
    mtlsOptions(input);
    expect(input).toEqual(copy);
  });
});

describe('when an option is malformed', () => {
  it.each([
    ['an unknown key', { ciphers: 'ALL' }, 'mtlsOptions.ciphers'],
    ['a wrong type', { sessionTimeout: '300' }, 'mtlsOptions.sessionTimeout'],
    ['sessionTimeout 0 (Node ignores it)', { sessionTimeout: 0 }, 'mtlsOptions.sessionTimeout'],
    ['an unknown profile', { profile: 'old' }, 'mtlsOptions.profile'],
    ['both key and keyFile', { keyFile: '/etc/tls/tls.key' }, 'mtlsOptions.key'],
    ['no key', { key: undefined }, 'mtlsOptions.key'],
    ['no cert', { cert: undefined }, 'mtlsOptions.cert'],
    ['a non-PEM ca', { ca: 42 }, 'mtlsOptions.ca'],
    ['minVersion TLSv1.2 with profile modern', { minVersion: 'TLSv1.2' }, 'mtlsOptions.minVersion'],
  ])('throws InvalidOptionError for %s', (_case, change, optionPath) => {
    const attempt = () => mtlsOptions(valid(change));
    expect(attempt).toThrow(InvalidOptionError);
    expect(attempt).toThrow(expect.objectContaining({ path: optionPath, code: 'ERR_INVALID_OPTION' }));
  });
});

/** [case, input, code, message fragments] — one row per `ERR_MTLS_CONFIG_*` refusal (docs/tls.md). */
const refusals: readonly (readonly [string, () => MtlsOptionsInput, string, readonly string[]])[] = [
  [
    'no ca',
    () => valid({ ca: undefined }),
    'ERR_MTLS_CONFIG_NO_CA',
    ['option "ca": is missing', 'default (public) trust store', 'Fix: set "caFile"'],
  ],
  [
    'requestCert: false',
    () => valid({ requestCert: false }),
    'ERR_MTLS_CONFIG_REQUEST_CERT',
    ['option "requestCert": is false', 'Fix: remove "requestCert"'],
  ],
  [
    'rejectUnauthorized: false',
    () => valid({ rejectUnauthorized: false }),
    'ERR_MTLS_CONFIG_REJECT_UNAUTHORIZED',
    ['option "rejectUnauthorized": is false', 'would be served', 'Fix: remove "rejectUnauthorized"'],
  ],
  [
    'minVersion TLSv1.1',
    () => valid({ minVersion: 'TLSv1.1' }),
    'ERR_MTLS_CONFIG_PROTOCOL_VERSION',
    ['option "minVersion": is TLSv1.1, below TLS 1.2', 'Fix: remove "minVersion"'],
  ],
  [
    'minVersion TLSv1',
    () => valid({ minVersion: 'TLSv1', profile: 'intermediate' }),
    'ERR_MTLS_CONFIG_PROTOCOL_VERSION',
    ['is TLSv1, below TLS 1.2'],
  ],
  [
    'a key that does not match the certificate',
    () => valid({ key: pem.otherKey }),
    'ERR_MTLS_CONFIG_KEY_MISMATCH',
    ['option "key": is not the private key of option "cert"', 'Fix: deploy the key and certificate'],
  ],
  [
    'an expired server certificate',
    () => valid({ cert: pem.expiredCert, key: pem.expiredKey }),
    'ERR_MTLS_CONFIG_CERT_EXPIRED',
    ['option "cert" (certificate 1, CN=localhost): expired at', 'Fix: deploy a renewed certificate'],
  ],
  [
    'a server certificate not yet valid',
    () => valid({ cert: pem.futureCert, key: pem.futureKey }),
    'ERR_MTLS_CONFIG_CERT_NOT_YET_VALID',
    ['is not valid before', 'Fix: check the system clock'],
  ],
  [
    'a server certificate whose EKU excludes serverAuth',
    () => valid({ cert: pem.clientEkuCert, key: pem.clientEkuKey }),
    'ERR_MTLS_CONFIG_CERT_EKU',
    ['extended key usage without serverAuth (1.3.6.1.5.5.7.3.2)', 'Fix: reissue the server certificate'],
  ],
  [
    'a CA bundle containing a non-CA certificate',
    () => valid({ ca: [pem.ca, pem.clientCert] as never }),
    'ERR_MTLS_CONFIG_CA_NOT_CA',
    ['option "ca" (certificate 2, CN=a-client): is not a CA certificate', 'Fix: put only CA certificates'],
  ],
  [
    'a CA bundle without a root',
    () => valid({ ca: pem.intermediate }),
    'ERR_MTLS_CONFIG_CA_NO_ROOT',
    ['option "ca": contains no self-signed root CA', 'Fix: add the root CA'],
  ],
  [
    'an expired CA in the bundle',
    () => valid({ ca: [pem.ca, pem.expiredCa] as never }),
    'ERR_MTLS_CONFIG_CA_NOT_VALID',
    ['(certificate 2, CN=Expired Root): expired at', 'Fix: remove the expired CA'],
  ],
  [
    'an RSA-1024 server key',
    () => valid({ cert: pem.rsa1024Cert, key: pem.rsa1024Key }),
    'ERR_MTLS_CONFIG_WEAK_KEY',
    ['has a weak key: RSA key of 1024 bits (at least 2048 needed)', 'Fix: reissue the certificate'],
  ],
  [
    'an RSA-1024 CA',
    () => valid({ ca: [pem.ca, pem.weakCa] as never }),
    'ERR_MTLS_CONFIG_WEAK_KEY',
    ['(certificate 2, CN=Weak Root): has a weak key: RSA key of 1024 bits'],
  ],
  [
    'a SHA-1-signed server certificate',
    () => valid({ cert: pem.sha1Cert, key: pem.sha1Key }),
    'ERR_MTLS_CONFIG_WEAK_SIGNATURE',
    ['is signed with ecdsa-with-SHA1', 'Fix: reissue it signed with SHA-256'],
  ],
  [
    'a missing file',
    () => ({ keyFile: join(dir.path, 'missing.key'), certFile: path.cert, caFile: path.ca, onWarning }) as never,
    'ERR_MTLS_CONFIG_FILE_UNREADABLE',
    ['keyFile /', 'missing.key: cannot be read (ENOENT)', 'Fix: check that the file exists'],
  ],
  [
    'a directory instead of a file',
    () => ({ keyFile: path.key, certFile: path.cert, caFile: path.directory, onWarning }) as never,
    'ERR_MTLS_CONFIG_FILE_UNREADABLE',
    ['a-directory: is not a regular file', 'Fix: point caFile at the PEM file'],
  ],
  [
    'a certificate file without PEM',
    () => ({ keyFile: path.key, certFile: path.garbage, caFile: path.ca, onWarning }) as never,
    'ERR_MTLS_CONFIG_MALFORMED_PEM',
    ['garbage.crt: contains no PEM "CERTIFICATE" block', 'Fix: provide the PEM text'],
  ],
  [
    'a truncated certificate',
    () => ({ keyFile: path.key, certFile: path.truncated, caFile: path.ca, onWarning }) as never,
    'ERR_MTLS_CONFIG_MALFORMED_PEM',
    ['truncated.crt: certificate 1 does not parse as X.509'],
  ],
  [
    'a key file without a key',
    () => valid({ key: pem.cert }),
    'ERR_MTLS_CONFIG_MALFORMED_PEM',
    ['option "key": contains no PEM private key'],
  ],
  [
    'an encrypted key without passphrase',
    () => valid({ key: pem.encryptedKey }),
    'ERR_MTLS_CONFIG_KEY_PASSPHRASE',
    ['option "key": is encrypted and no passphrase was given', 'Fix: set "passphrase"'],
  ],
  [
    'an encrypted key with a wrong passphrase',
    () => valid({ key: pem.encryptedKey, passphrase: 'wrong' }),
    'ERR_MTLS_CONFIG_KEY_PASSPHRASE',
    ['cannot be decrypted with the given passphrase'],
  ],
  [
    'a CRL that does not parse',
    () => valid({ crl: '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n' }),
    'ERR_MTLS_CONFIG_CRL_MALFORMED',
    ['option "crl": CRL 1 does not parse', 'Fix: replace it'],
  ],
  [
    'a CRL file without a CRL',
    () => valid({ crl: pem.ca }),
    'ERR_MTLS_CONFIG_CRL_MALFORMED',
    ['option "crl": contains no PEM "X509 CRL" block'],
  ],
  [
    'a CRL from a CA outside the bundle',
    () => valid({ crl: pem.otherCrl }),
    'ERR_MTLS_CONFIG_CRL_ISSUER',
    ['issuer CN=Options Other Root): is not signed by any CA in the "ca" bundle'],
  ],
  [
    'a CRL with the right issuer name but a forged signature',
    () => valid({ crl: pem.impostorCrl }),
    'ERR_MTLS_CONFIG_CRL_ISSUER',
    ['issuer CN=Options Root): is not signed by any CA in the "ca" bundle'],
  ],
  [
    'a CA in the bundle without a CRL',
    () => valid({ ca: [pem.ca, otherRoot.root] as never, crl: pem.crl }),
    'ERR_MTLS_CONFIG_CRL_MISSING',
    ['(certificate 2, CN=Options Other Root): has no CRL', 'Fix: add a current CRL'],
  ],
  [
    'ticketKeys',
    () => valid({ ticketKeys: Buffer.alloc(48) }),
    'ERR_MTLS_CONFIG_TICKET_KEYS',
    ['option "ticketKeys"', 'resume after a CA or CRL change', 'Fix: remove "ticketKeys"'],
  ],
  [
    'secureProtocol',
    () => valid({ secureProtocol: 'TLSv1_2_method' }),
    'ERR_MTLS_CONFIG_SECURE_PROTOCOL',
    ['option "secureProtocol"', 'Fix: remove "secureProtocol"'],
  ],
  [
    'SNICallback',
    () => valid({ SNICallback: () => undefined }),
    'ERR_MTLS_CONFIG_SNI_CALLBACK',
    ['option "SNICallback"', 'public root store', 'Fix: remove "SNICallback"'],
  ],
  [
    'allowPartialTrustChain',
    () => valid({ allowPartialTrustChain: true }),
    'ERR_MTLS_CONFIG_PARTIAL_CHAIN',
    ['option "allowPartialTrustChain"', 'Fix: remove "allowPartialTrustChain"'],
  ],
];

describe('when the configuration is weak or incomplete', () => {
  it.each(refusals)('refuses %s', (_case, input, code, fragments) => {
    const error = refusal(input);
    expect(error.code).toBe(code);
    expect(error.status).toBe(500);
    for (const fragment of fragments) expect(error.message).toContain(fragment);
    expect(error.message).toMatch(/\. Fix: .+/);
  });
});

describe('when a finding denies nothing', () => {
  const codes = (input: MtlsOptionsInput): string[] => {
    warnings.length = 0;
    mtlsOptions(input);
    return warnings.map((warning) => warning.code).filter((code) => code !== 'MTLS_NODE_EOL');
  };

  it('warns about a certificate past two thirds of its life within the window', () => {
    expect(codes(valid({ cert: pem.expiringCert, key: pem.expiringKey }))).toEqual(['MTLS_CERT_EXPIRING']);
    expect(warnings[0]?.message).toMatch(/expires at .* \(in [12]\.\d\d days\); renew it/);
  });

  it('does not warn about a fresh certificate, nor with a zero-day window', () => {
    expect(codes(valid())).toEqual([]);
    expect(codes(valid({ cert: pem.expiringCert, key: pem.expiringKey, expiryWarningDays: 0 }))).toEqual([]);
  });

  it('warns about a world-readable key file, naming it', () => {
    expect(codes({ keyFile: path.worldReadableKey, certFile: path.cert, caFile: path.ca, onWarning } as never)).toEqual(
      ['MTLS_KEY_WORLD_READABLE'],
    );
    expect(warnings[0]).toMatchObject({ file: path.worldReadableKey });
    expect(warnings[0]?.message).toContain('mode 644');
    expect(codes({ keyFile: path.key, certFile: path.cert, caFile: path.ca, onWarning } as never)).toEqual([]);
  });

  it('warns about a CRL past its nextUpdate', () => {
    expect(codes(valid({ crl: pem.staleCrl }))).toEqual(['MTLS_CRL_STALE']);
    expect(warnings[0]?.message).toContain('every client certificate from this CA is rejected');
  });

  it('uses process.emitWarning by default', async () => {
    const seen = new Promise<Error>((resolve) => process.once('warning', resolve));
    mtlsOptions({ key: pem.expiringKey, cert: pem.expiringCert, ca: pem.ca } as never);
    expect(await seen).toMatchObject({ name: 'KoaMtlsWarning', code: 'MTLS_CERT_EXPIRING' });
  });

  it('fails closed when the warning hook throws', () => {
    const throwing = () => {
      throw new Error('hook failed');
    };
    expect(() => mtlsOptions(valid({ cert: pem.expiringCert, key: pem.expiringKey, onWarning: throwing }))).toThrow(
      'hook failed',
    );
  });
});
