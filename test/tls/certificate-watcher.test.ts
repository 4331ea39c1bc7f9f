/**
 * `watchCertificates`: rotation of a live server's secure context, from a Kubernetes-style volume (atomic `..data`
 * symlink swap) and from spiffe-helper-style plain files written one after another.
 */
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import Koa from 'koa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { InvalidOptionError } from '../../src/errors.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import {
  type CertificateRotation,
  type CertificateWatcher,
  type CertificateWatcherOptions,
  watchCertificates,
} from '../../src/tls/certificate-watcher.js';
import { onTlsClientRejected } from '../../src/tls/client-rejections.js';
import { type MtlsOptionsInput, mtlsOptions } from '../../src/tls/mtls-options.js';
import { close, listen } from '../helpers/listen.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/wait-for.js';
import { tlsRequest } from './fixtures.js';

let rootA: CertificateAuthority;
let rootB: CertificateAuthority;
let serverOne: IssuedCertificate;
let serverTwo: IssuedCertificate;
let clientA: IssuedCertificate;
let clientB: IssuedCertificate;
const quiet = () => undefined;

beforeAll(async () => {
  rootA = await createCertificateAuthority({ subject: 'CN=Rotation Root A' });
  rootB = await createCertificateAuthority({ subject: 'CN=Rotation Root B' });
  serverOne = await rootA.issueServer({ subject: 'CN=server one' });
  serverTwo = await rootA.issueServer({ subject: 'CN=server two' });
  clientA = await rootA.issueClient({ subject: 'CN=client a' });
  clientB = await rootB.issueClient({ subject: 'CN=client b' });
});

/** Everything a test opened, closed after it. */
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Harness {
  readonly server: Server;
  readonly port: number;
  readonly watcher: CertificateWatcher;
  readonly rotations: CertificateRotation[];
  readonly errors: Error[];
  readonly audits: AuditEvent[];
}

async function start(input: MtlsOptionsInput, options: CertificateWatcherOptions = {}): Promise<Harness> {
  const rotations: CertificateRotation[] = [];
  const errors: Error[] = [];
  const audits: AuditEvent[] = [];
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  const server = createServer(mtlsOptions(input), app.callback());
  const watcher = watchCertificates(server, input, {
    debounceMs: 50,
    retryMs: 50,
    onRotated: (rotation) => rotations.push(rotation),
    onError: (error) => errors.push(error),
    onAudit: (event) => audits.push(event),
    ...options,
  });
  onTlsClientRejected(server, (event) => audits.push(event));
  const port = await listen(server);
  cleanup.push(
    () => close(server),
    () => watcher.close(),
  );
  return { server, port, watcher, rotations, errors, audits };
}

/** A Kubernetes secret volume: `tls.crt` → `..data/tls.crt`, `..data` → `..<timestamp>` (atomic_writer.go). */
function kubernetesVolume(dir: string) {
  let generation = 0;
  let current: string | undefined;
  const publish = (files: Readonly<Record<string, string>>): void => {
    generation += 1;
    const stamped = `..2026_11_28_00_00_0${generation}.000000000`;
    mkdirSync(join(dir, stamped));
    for (const [name, content] of Object.entries(files))
      writeFileSync(join(dir, stamped, name), content, { mode: 0o600 });
    symlinkSync(stamped, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    if (current === undefined) {
      for (const name of Object.keys(files)) symlinkSync(join('..data', name), join(dir, name));
    } else {
      rmSync(join(dir, current), { recursive: true });
    }
    current = stamped;
  };
  return { publish };
}

function fingerprintOf(cert: IssuedCertificate): string {
  return cert.fingerprint256.toUpperCase().match(/../g)?.join(':') ?? '';
}

describe('when a Kubernetes volume swaps its ..data symlink', () => {
  it.each([
    ['the directory watch', { pollIntervalMs: 3_600_000 }],
    ['the content poll (watch off)', { watch: false, pollIntervalMs: 100 }],
  ] as const)('serves the new certificate to new connections, detected by %s', async (_how, options) => {
    const dir = temporaryDirectory('k8s');
    cleanup.push(() => dir.dispose());
    const volume = kubernetesVolume(dir.path);
    volume.publish({ 'tls.crt': serverOne.chain, 'tls.key': serverOne.key, 'ca.crt': rootA.root });
    const input = {
      certFile: join(dir.path, 'tls.crt'),
      keyFile: join(dir.path, 'tls.key'),
      caFile: join(dir.path, 'ca.crt'),
      onWarning: quiet,
    };
    const { port, rotations, errors } = await start(input, options);
    const client = { ca: rootA.root, cert: clientA.chain, key: clientA.key };
    expect((await tlsRequest(port, client)).serverFingerprint).toBe(fingerprintOf(serverOne));

    volume.publish({ 'tls.crt': serverTwo.chain, 'tls.key': serverTwo.key, 'ca.crt': rootA.root });
    await waitFor(() => rotations.length === 1);

    expect(rotations[0]).toMatchObject({
      previousFingerprint256: serverOne.fingerprint256,
      fingerprint256: serverTwo.fingerprint256,
      trustChanged: false,
    });
    const after = await tlsRequest(port, client);
    expect(after).toMatchObject({ status: 200, serverFingerprint: fingerprintOf(serverTwo) });
    expect(errors).toEqual([]);
  });
});

describe('when files are written one after another (spiffe-helper)', () => {
  it('keeps the old context while the certificate is new and the key still old, then rotates', async () => {
    const dir = temporaryDirectory('spiffe');
    cleanup.push(() => dir.dispose());
    const certFile = join(dir.path, 'svid.pem');
    const keyFile = join(dir.path, 'svid_key.pem');
    const caFile = join(dir.path, 'svid_bundle.pem');
    writeFileSync(certFile, serverOne.chain);
    writeFileSync(keyFile, serverOne.key, { mode: 0o600 });
    writeFileSync(caFile, rootA.root);
    const { port, rotations, errors, audits, watcher } = await start(
      { certFile, keyFile, caFile, onWarning: quiet },
      { pollIntervalMs: 100, retryMs: 100 },
    );
    const client = { ca: rootA.root, cert: clientA.chain, key: clientA.key };

    writeFileSync(certFile, serverTwo.chain);
    await waitFor(() => errors.length > 0);
    expect(errors[0]).toMatchObject({ code: 'ERR_MTLS_CONFIG_KEY_MISMATCH' });
    expect(errors[0]?.message).toContain(`keyFile ${keyFile}: is not the private key of certFile ${certFile}`);
    expect(audits).toContainEqual(
      expect.objectContaining({ kind: 'tls', outcome: 'reject', reason: 'TLS_ROTATION_REFUSED' }),
    );
    expect(watcher.status()).toMatchObject({ fingerprint256: serverOne.fingerprint256 });
    expect(watcher.status().lastError).toBe(errors.at(-1));
    expect(rotations).toEqual([]);
    expect(await tlsRequest(port, client)).toMatchObject({ status: 200, serverFingerprint: fingerprintOf(serverOne) });

    writeFileSync(keyFile, serverTwo.key, { mode: 0o600 });
    await waitFor(() => rotations.length === 1);
    expect(await tlsRequest(port, client)).toMatchObject({ status: 200, serverFingerprint: fingerprintOf(serverTwo) });
    expect(watcher.status().lastError).toBeUndefined();
  });
});

describe('when a rotation changes the trust', () => {
  it.each([
    ['its CA is removed from the bundle', 'remove-ca'],
    ['its certificate is revoked by a new CRL', 'revoke'],
  ] as const)('rejects a previously accepted client when %s, also on session resumption', async (_case, change) => {
    const dir = temporaryDirectory('trust');
    cleanup.push(() => dir.dispose());
    const certFile = join(dir.path, 'tls.crt');
    const keyFile = join(dir.path, 'tls.key');
    const caFile = join(dir.path, 'ca.crt');
    const crlFile = join(dir.path, 'ca.crl');
    writeFileSync(certFile, serverOne.chain);
    writeFileSync(keyFile, serverOne.key, { mode: 0o600 });
    writeFileSync(caFile, `${rootA.root}${rootB.root}`);
    writeFileSync(crlFile, `${await rootA.createCrl()}${await rootB.createCrl()}`);
    const { port, watcher, audits } = await start(
      { certFile, keyFile, caFile, crlFile, onWarning: quiet },
      { watch: false, pollIntervalMs: 3_600_000 },
    );
    const client = { ca: rootA.root, cert: clientB.chain, key: clientB.key };

    const first = await tlsRequest(port, client);
    expect(first).toMatchObject({ status: 200, reused: false });
    expect(first.session).toBeInstanceOf(Buffer);
    // Control: before the trust change the session does resume, so the assertion below can fail
    const resumed = await tlsRequest(port, { ...client, session: first.session as Buffer });
    expect(resumed).toMatchObject({ status: 200, reused: true });

    if (change === 'remove-ca') {
      writeFileSync(caFile, rootA.root);
      writeFileSync(crlFile, await rootA.createCrl());
    } else {
      const revoked = await rootB.createCrl({ revoked: [{ serialNumber: clientB.serialNumber }] });
      writeFileSync(crlFile, `${await rootA.createCrl()}${revoked}`);
    }
    const result = watcher.reload();
    expect(result).toMatchObject({ status: 'rotated', rotation: { trustChanged: true } });

    audits.length = 0;
    const resumedAfter = await tlsRequest(port, { ...client, session: resumed.session ?? (first.session as Buffer) });
    expect(resumedAfter).toMatchObject({ status: 0, reused: false });
    expect((await tlsRequest(port, client)).status).toBe(0);
    await waitFor(() => audits.length >= 2);
    expect(audits.map((event) => event.reason)).toEqual(
      change === 'remove-ca'
        ? ['TLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'TLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE']
        : ['TLS_CERT_REVOKED', 'TLS_CERT_REVOKED'],
    );
    expect((await tlsRequest(port, { ca: rootA.root, cert: clientA.chain, key: clientA.key })).status).toBe(200);
  });

  it('reports an unchanged reload and a renewal without trust change', async () => {
    const dir = temporaryDirectory('renew');
    cleanup.push(() => dir.dispose());
    const certFile = join(dir.path, 'tls.crt');
    const keyFile = join(dir.path, 'tls.key');
    writeFileSync(certFile, serverOne.chain);
    writeFileSync(keyFile, serverOne.key, { mode: 0o600 });
    const { watcher } = await start(
      { certFile, keyFile, ca: rootA.root, onWarning: quiet },
      { watch: false, pollIntervalMs: 3_600_000 },
    );
    expect(watcher.reload()).toEqual({ status: 'unchanged' });
    writeFileSync(certFile, serverTwo.chain);
    writeFileSync(keyFile, serverTwo.key, { mode: 0o600 });
    expect(watcher.reload()).toMatchObject({ status: 'rotated', rotation: { trustChanged: false } });
  });
});

describe('when the watcher is closed', () => {
  it('leaves no timer or watcher behind: later file changes do nothing', async () => {
    const dir = temporaryDirectory('closed');
    cleanup.push(() => dir.dispose());
    const certFile = join(dir.path, 'tls.crt');
    const keyFile = join(dir.path, 'tls.key');
    writeFileSync(certFile, serverOne.chain);
    writeFileSync(keyFile, serverOne.key, { mode: 0o600 });
    const { watcher, rotations, errors } = await start(
      { certFile, keyFile, ca: rootA.root, onWarning: quiet },
      { pollIntervalMs: 100 },
    );
    const before = process.getActiveResourcesInfo().length;
    watcher.close();
    watcher.close();
    writeFileSync(certFile, serverTwo.chain);
    writeFileSync(keyFile, serverTwo.key, { mode: 0o600 });
    await new Promise((done) => setTimeout(done, 400));
    expect(rotations).toEqual([]);
    expect(errors).toEqual([]);
    expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(before);
    expect(() => watcher.reload()).toThrow('reload() after close()');
  });
});

describe('when the watcher is misconfigured', () => {
  it.each([
    ['inline PEM only (nothing to watch)', () => ({ key: 'k', cert: 'c', ca: 'a' }), {}, 'watchCertificates.input'],
    [
      'an unknown option',
      () => ({ keyFile: '/k', certFile: '/c', caFile: '/a' }),
      { interval: 5 },
      `watchCertificates.options.interval`,
    ],
    [
      'a debounce out of range',
      () => ({ keyFile: '/k', certFile: '/c', caFile: '/a' }),
      { debounceMs: -1 },
      'watchCertificates.options.debounceMs',
    ],
  ] as const)('throws InvalidOptionError for %s', (_case, input, options, optionPath) => {
    const server = createServer();
    expect(() => watchCertificates(server, input() as never, options as never)).toThrow(
      expect.objectContaining({ path: optionPath }),
    );
    expect(() => watchCertificates(server, input() as never, options as never)).toThrow(InvalidOptionError);
  });

  it('throws the mtlsOptions refusal when the files are invalid at start', async () => {
    const dir = temporaryDirectory('invalid');
    cleanup.push(() => dir.dispose());
    const keyFile = join(dir.path, 'tls.key');
    writeFileSync(keyFile, serverTwo.key, { mode: 0o600 });
    expect(() =>
      watchCertificates(createServer(), { keyFile, cert: serverOne.chain, ca: rootA.root, onWarning: quiet }),
    ).toThrow(expect.objectContaining({ code: 'ERR_MTLS_CONFIG_KEY_MISMATCH' }));
  });
});
