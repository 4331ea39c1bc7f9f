/**
 * The strict defaults seen from the wire: client CA names, protocol and cipher floor per profile, ticket lifetime,
 * handshake timeout, SNI contexts, and the three server kinds Node offers.
 */
import { spawn } from 'node:child_process';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { createConnection } from 'node:net';
import { createServer as createTlsServer, type Server } from 'node:tls';
import Koa from 'koa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { onTlsClientRejected } from '../../src/tls/client-rejections.js';
import { type MtlsOptionsInput, mtlsOptions } from '../../src/tls/mtls-options.js';
import { externalTools } from '../helpers/external-tools.js';
import { close, listen } from '../helpers/listen.js';
import { sClientArgs } from '../helpers/openssl.js';
import { temporaryDirectory, writeFile } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/wait-for.js';
import { nodeGet, opensslGet, opensslTranscript, tlsRequest } from './fixtures.js';

const hasOpenssl = externalTools('the openssl checks', ['openssl']);
const dir = temporaryDirectory('defaults');
let root: CertificateAuthority;
let other: CertificateAuthority;
let serverCert: IssuedCertificate;
let client: IssuedCertificate;
let otherClient: IssuedCertificate;
let caFile: string;
let clientFiles: { certFile: string; keyFile: string };
const quiet = () => undefined;

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=Defaults Root' });
  other = await createCertificateAuthority({ subject: 'CN=Defaults Other Root' });
  serverCert = await root.issueServer();
  client = await root.issueClient({ subject: 'CN=defaults-client' });
  otherClient = await other.issueClient({ subject: 'CN=other-client' });
  caFile = writeFile(dir.path, 'ca.crt', root.root);
  clientFiles = {
    certFile: writeFile(dir.path, 'client.crt', client.chain),
    keyFile: writeFile(dir.path, 'client.key', client.key),
  };
});

afterAll(() => dir.dispose());

const servers: (Server | Http2SecureServer)[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await close(server);
});

function input(change: Partial<MtlsOptionsInput> = {}): MtlsOptionsInput {
  return { key: serverCert.key, cert: serverCert.chain, ca: root.root, onWarning: quiet, ...change };
}

async function httpsServer(change: Partial<MtlsOptionsInput> = {}, audits: AuditEvent[] = []) {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  const server = createHttpsServer(mtlsOptions(input(change)), app.callback());
  onTlsClientRejected(server, (event) => audits.push(event));
  servers.push(server);
  return { server, port: await listen(server) };
}

describe('with the modern profile', () => {
  it.skipIf(!hasOpenssl)(
    'names the configured CA in its certificate request and serves TLS 1.3 with a 300 s ticket',
    async () => {
      const { port } = await httpsServer();
      const transcript = await opensslTranscript(port, caFile, clientFiles);
      // "No client certificate CA names sent" is the wire signature of a server without `ca` (RFC 8446 §4.3.2 certificate_authorities)
      expect(transcript).toMatch(/Acceptable client certificate CA names\nCN = Defaults Root\n/);
      expect(transcript).toMatch(/New, TLSv1\.3, Cipher is TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)/);
      expect(transcript).toContain('TLS session ticket lifetime hint: 300 (seconds)');
      expect(await opensslGet(port, caFile, clientFiles)).toMatchObject({ status: 200 });
    },
  );

  it.skipIf(!hasOpenssl)('honours a custom sessionTimeout', async () => {
    const { port } = await httpsServer({ sessionTimeout: 60 });
    expect(await opensslTranscript(port, caFile, clientFiles)).toContain(
      'TLS session ticket lifetime hint: 60 (seconds)',
    );
  });

  it('resumes sessions within the same trust, and not at all with sessionResumption false', async () => {
    const credentials = { ca: root.root, cert: client.chain, key: client.key };
    const { port } = await httpsServer();
    const first = await tlsRequest(port, credentials);
    expect(await tlsRequest(port, { ...credentials, session: first.session as Buffer })).toMatchObject({
      status: 200,
      reused: true,
    });
    const { port: noTickets } = await httpsServer({ sessionResumption: false });
    const again = await tlsRequest(noTickets, credentials);
    expect(
      again.session === undefined || !(await tlsRequest(noTickets, { ...credentials, session: again.session })).reused,
    ).toBe(true);
  });

  it('closes a connection that never completes its handshake, within the handshake timeout', async () => {
    const audits: AuditEvent[] = [];
    const { port } = await httpsServer({ handshakeTimeout: 1000 }, audits);
    const socket = createConnection({ host: '127.0.0.1', port });
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => undefined);
    await closed;
    await waitFor(() => audits.length > 0);
    expect(audits[0]).toMatchObject({ kind: 'tls', outcome: 'reject', reason: 'TLS_HANDSHAKE_TIMEOUT' });
  });
});

describe('with the intermediate profile', () => {
  it.skipIf(!hasOpenssl)('accepts a TLS 1.2 client offering a Mozilla AEAD suite', async () => {
    const { port } = await httpsServer({ profile: 'intermediate' });
    expect(
      await nodeGet(port, root.root, { cert: client.chain, key: client.key }, { maxVersion: 'TLSv1.2' }),
    ).toMatchObject({
      status: 200,
    });
    expect(await opensslGet(port, caFile, clientFiles, ['-tls1_2'])).toMatchObject({ status: 200 });
  });

  it.skipIf(!hasOpenssl).each([
    ['CBC', 'ECDHE-ECDSA-AES128-SHA'],
    ['CBC-SHA256', 'ECDHE-ECDSA-AES128-SHA256'],
    ['static RSA key exchange', 'AES128-GCM-SHA256'],
  ])('rejects a TLS 1.2 client offering only a %s suite', async (_kind, suite) => {
    const audits: AuditEvent[] = [];
    const { port } = await httpsServer({ profile: 'intermediate' }, audits);
    expect(await opensslGet(port, caFile, clientFiles, ['-tls1_2', '-cipher', suite])).toMatchObject({ status: 0 });
    await waitFor(() => audits.length > 0);
    expect(audits[0]?.reason).toBe('TLS_NO_SHARED_CIPHER');
  });

  it.skipIf(!hasOpenssl)(
    'refuses client-initiated renegotiation (a control server without SSL_OP_NO_RENEGOTIATION allows it)',
    async () => {
      const { port } = await httpsServer({ profile: 'intermediate' });
      expect(await renegotiate(port)).toEqual({ refused: true, completed: false });

      const control = createHttpsServer(
        { ...mtlsOptions(input({ profile: 'intermediate' })), secureOptions: 0 },
        (_req, res) => res.end('ok'),
      );
      servers.push(control);
      expect(await renegotiate(await listen(control))).toEqual({ refused: false, completed: true });
    },
  );
});

/** Asks a TLS 1.2 `openssl s_client` session to renegotiate ("R") once the handshake is done, and reports what happened. */
function renegotiate(port: number): Promise<{ refused: boolean; completed: boolean }> {
  const args = sClientArgs(port, { caFile, ...clientFiles, extra: ['-tls1_2'] });
  return new Promise((done) => {
    const child = spawn('openssl', args);
    const killer = setTimeout(() => child.kill(), 10_000);
    let stdout = '';
    let stderr = '';
    let asked = false;
    const afterRenegotiation = () => stderr.slice(stderr.indexOf('RENEGOTIATING'));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!asked && stdout.includes('Verify return code')) {
        asked = true;
        child.stdin.write('R\n');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const tail = afterRenegotiation();
      if (
        asked &&
        stderr.includes('RENEGOTIATING') &&
        (tail.includes('no renegotiation') || tail.includes('depth=0'))
      ) {
        child.stdin.end();
      }
    });
    child.on('close', () => {
      clearTimeout(killer);
      const tail = stderr.includes('RENEGOTIATING') ? afterRenegotiation() : '';
      done({ refused: tail.includes('no renegotiation'), completed: tail.includes('depth=0') });
    });
  });
}

describe('when server.addContext() adds an SNI context', () => {
  it('refuses the handshake and reports it', async () => {
    const audits: AuditEvent[] = [];
    const { server, port } = await httpsServer({}, audits);
    // A context without `ca`: Node would verify this name's clients against the public root store
    server.addContext('localhost', { key: serverCert.key, cert: serverCert.chain });
    expect(await nodeGet(port, root.root, { cert: client.chain, key: client.key })).toMatchObject({ status: 0 });
    await waitFor(() => audits.length > 0);
    expect(audits[0]).toMatchObject({
      reason: 'TLS_SNI_CONTEXT_REFUSED',
      detail: { errorCode: 'ERR_MTLS_CONFIG_SNI_CONTEXT' },
    });
  });
});

describe.each([
  [
    'tls.createServer',
    (options: ReturnType<typeof mtlsOptions>) =>
      createTlsServer(options, (socket) =>
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'),
      ),
  ],
  [
    'http2.createSecureServer (allowHTTP1)',
    (options: ReturnType<typeof mtlsOptions>) =>
      createSecureServer({ ...options, allowHTTP1: true }, (_req, res) => res.end('ok')),
  ],
] as const)('with %s', (_kind, create) => {
  it('accepts a valid client and rejects another CA’s client', async () => {
    const server = create(mtlsOptions(input()));
    servers.push(server);
    const port = await listen(server as Server);
    expect(await tlsRequest(port, { ca: root.root, cert: client.chain, key: client.key })).toMatchObject({
      status: 200,
    });
    expect(await tlsRequest(port, { ca: root.root, cert: otherClient.chain, key: otherClient.key })).toMatchObject({
      status: 0,
    });
  });
});
