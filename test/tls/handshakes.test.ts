/**
 * Real handshakes against a server built with `mtlsOptions` (profile modern, with a CRL): Node's client, curl and
 * openssl s_client. Every bad client is rejected, and the rejection reaches `onTlsClientRejected` with its reason.
 */
import { createServer, type Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { onTlsClientRejected } from '../../src/tls/client-rejections.js';
import { mtlsOptions } from '../../src/tls/mtls-options.js';
import type { MtlsWarning } from '../../src/tls/warnings.js';
import {
  type ClientOutcome,
  close,
  curlGet,
  listen,
  nodeGet,
  opensslGet,
  permissiveOpensslConfig,
  temporaryDirectory,
  waitFor,
  writeFile,
} from './fixtures.js';

const DAY = 86_400_000;
const dir = temporaryDirectory('handshakes');
const events: AuditEvent[] = [];
const warnings: MtlsWarning[] = [];
let handled = 0;
let server: Server;
let port: number;
let caFile: string;
let caPem: string;
const clients: Record<string, IssuedCertificate> = {};
const files: Record<string, { certFile: string; keyFile: string }> = {};

beforeAll(async () => {
  const root = await createCertificateAuthority({ subject: 'CN=Handshake Root A' });
  const other = await createCertificateAuthority({ subject: 'CN=Handshake Root B' });
  const serverCert = await root.issueServer();
  const now = Date.now();
  const issued = {
    valid: await root.issueClient({ subject: 'CN=valid-client' }),
    otherCa: await other.issueClient({ subject: 'CN=other-ca-client' }),
    expired: await root.issueClient({
      subject: 'CN=expired-client',
      notBefore: new Date(now - 10 * DAY),
      notAfter: new Date(now - DAY),
    }),
    notYetValid: await root.issueClient({
      subject: 'CN=future-client',
      notBefore: new Date(now + DAY),
      notAfter: new Date(now + 10 * DAY),
    }),
    revoked: await root.issueClient({ subject: 'CN=revoked-client' }),
    rsa1024: await root.issueClient({ subject: 'CN=rsa1024-client', keyAlgorithm: 'rsa-1024' }),
    sha1: await root.issueClient({ subject: 'CN=sha1-client', signatureHash: 'SHA-1' }),
    serverAuthOnly: await root.issueClient({ subject: 'CN=server-eku-client', extendedKeyUsage: ['serverAuth'] }),
  };
  Object.assign(clients, issued);
  for (const [name, cert] of Object.entries(issued)) {
    files[name] = {
      certFile: writeFile(dir.path, `${name}.crt`, cert.chain),
      keyFile: writeFile(dir.path, `${name}.key`, cert.key),
    };
  }
  caPem = root.root;
  caFile = writeFile(dir.path, 'ca.crt', root.root, 0o644);
  const app = new Koa();
  app.use((ctx) => {
    handled += 1;
    ctx.body = 'ok';
  });
  server = createServer(
    mtlsOptions({
      keyFile: writeFile(dir.path, 'server.key', serverCert.key),
      certFile: writeFile(dir.path, 'server.crt', serverCert.chain, 0o644),
      caFile,
      crlFile: writeFile(
        dir.path,
        'ca.crl',
        await root.createCrl({ revoked: [{ serialNumber: issued.revoked.serialNumber }] }),
        0o644,
      ),
      onWarning: (warning) => warnings.push(warning),
    }),
    app.callback(),
  );
  onTlsClientRejected(server, (event) => events.push(event));
  port = await listen(server);
});

afterAll(async () => {
  await close(server);
  dir.dispose();
});

/** Whether Node's TLS client agrees to load this client certificate at its default security level. */
function nodeCanSend(client: string): boolean {
  const issued = clients[client];
  try {
    createSecureContext({ cert: issued?.chain, key: issued?.key });
    return true;
  } catch {
    return false;
  }
}

type Attempt = (client: string | undefined, tls12Only: boolean) => Promise<ClientOutcome>;

/** Debian's OpenSSL refuses to *send* an RSA-1024 or SHA-1 certificate at its default level 2: lower it client-side. */
const weakClients = new Set(['rsa1024', 'sha1']);

const nodeAttempt: Attempt = (client, tls12Only) => {
  const issued = client === undefined ? undefined : clients[client];
  return nodeGet(
    port,
    caPem,
    issued === undefined ? {} : { cert: issued.chain, key: issued.key },
    tls12Only ? { maxVersion: 'TLSv1.2' } : {},
  );
};
const curlAttempt: Attempt = (client, tls12Only) =>
  curlGet(
    port,
    caFile,
    client === undefined ? {} : (files[client] ?? {}),
    tls12Only ? ['--tls-max', '1.2'] : [],
    client !== undefined && weakClients.has(client)
      ? { ...process.env, OPENSSL_CONF: permissiveOpensslConfig(dir.path) }
      : undefined,
  );
const opensslAttempt: Attempt = (client, tls12Only) =>
  opensslGet(port, caFile, client === undefined ? {} : (files[client] ?? {}), [
    ...(tls12Only ? ['-tls1_2'] : []),
    ...(client !== undefined && weakClients.has(client) ? ['-cipher', 'DEFAULT@SECLEVEL=0'] : []),
  ]);

/** [case, client fixture, TLS 1.2 only, audit reason, peer subject in the audit event] */
const rejections: readonly (readonly [string, string | undefined, boolean, string, string | undefined])[] = [
  ['no client certificate', undefined, false, 'TLS_NO_CLIENT_CERTIFICATE', undefined],
  ['a certificate from another CA', 'otherCa', false, 'TLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CN=other-ca-client'],
  ['an expired certificate', 'expired', false, 'TLS_CERT_HAS_EXPIRED', 'CN=expired-client'],
  ['a certificate not yet valid', 'notYetValid', false, 'TLS_CERT_NOT_YET_VALID', 'CN=future-client'],
  ['a certificate revoked by the CRL', 'revoked', false, 'TLS_CERT_REVOKED', 'CN=revoked-client'],
  // OpenSSL 3 "EE key too small" and "CA md too weak" have no Node name: they surface as UNSPECIFIED (notes §3.2)
  ['an RSA-1024 certificate', 'rsa1024', false, 'TLS_UNSPECIFIED', 'CN=rsa1024-client'],
  ['a SHA-1-signed certificate', 'sha1', false, 'TLS_UNSPECIFIED', 'CN=sha1-client'],
  ['a certificate without clientAuth EKU', 'serverAuthOnly', false, 'TLS_INVALID_PURPOSE', 'CN=server-eku-client'],
  ['a TLS 1.2-only client against the modern profile', 'valid', true, 'TLS_PROTOCOL_VERSION', undefined],
];

describe.each([
  ['Node https', nodeAttempt],
  ['curl', curlAttempt],
  ['openssl s_client', opensslAttempt],
] as const)('when %s connects', (clientName, attempt) => {
  it('accepts a valid client certificate', async () => {
    events.length = 0;
    const before = handled;
    const outcome = await attempt('valid', false);
    expect(outcome).toMatchObject({ status: 200 });
    expect(outcome.body).toContain('ok');
    expect(handled).toBe(before + 1);
    expect(events).toEqual([]);
  });

  it.for(rejections)('rejects %s', async ([, client, tls12Only, reason, subject], context) => {
    // Node's own client refuses to load a SHA-1 certificate, and on Node 24 (security level 2) an RSA-1024 one:
    // curl and openssl s_client send those (notes §3.4)
    if (clientName === 'Node https' && client !== undefined && !nodeCanSend(client)) context.skip();
    events.length = 0;
    const before = handled;
    const outcome = await attempt(client, tls12Only);
    expect(outcome.status).toBe(0);
    expect(handled).toBe(before);
    await waitFor(() => events.length > 0);
    expect(events[0]).toMatchObject({ kind: 'tls', outcome: 'reject', reason });
    expect(events[0]?.peer?.['tls.client.subject']).toBe(subject);
    expect(events[0]?.detail).toMatchObject({ remoteAddress: '127.0.0.1' });
  });
});
