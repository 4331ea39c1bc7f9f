/**
 * The server's cipher order (testssl `-P`): mtlsOptions prefers its own order, except that a client listing
 * ChaCha20-Poly1305 first (a client without AES hardware) keeps it (OpenSSL's SSL_OP_PRIORITIZE_CHACHA). Real TLS on
 * 127.0.0.1, TLS 1.2 (`intermediate`) and TLS 1.3.
 */
import { connect, createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { mtlsOptions } from '../../src/tls/mtls-options.js';
import { close, listen } from '../helpers/listen.js';

let server: Server;
let port: number;
let ca: string;
let client: IssuedCertificate;

beforeAll(async () => {
  const authority = await createCertificateAuthority();
  const serverCertificate = await authority.issueServer();
  client = await authority.issueClient();
  ca = authority.root;
  const options = mtlsOptions({
    key: serverCertificate.key,
    cert: serverCertificate.chain,
    ca,
    profile: 'intermediate',
    onWarning: () => {},
  });
  server = createServer(options, (socket) => socket.end('ok'));
  port = await listen(server);
});
afterAll(() => close(server));

/** The cipher the server chose for a client offering `ciphers` in that order. */
function negotiated(version: 'TLSv1.2' | 'TLSv1.3', ciphers: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca,
      cert: client.chain,
      key: client.key,
      minVersion: version,
      maxVersion: version,
      ciphers,
      ...(version === 'TLSv1.3' ? { ciphersuites: ciphers } : {}),
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.on('secureConnect', () => {
      const name = socket.getCipher().standardName;
      socket.destroy();
      resolve(name);
    });
    socket.on('error', reject);
  });
}

describe('server cipher order', () => {
  it.each([
    [
      'TLSv1.2',
      'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384',
      'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    ],
    [
      'TLSv1.2',
      'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256',
      'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    ],
  ] as const)('on %s the server picks its own first choice among AES suites (%s)', async (version, offer, expected) => {
    expect(await negotiated(version, offer)).toBe(expected);
  });

  it.each([
    [
      'TLSv1.2',
      'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384',
      'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
    ],
    ['TLSv1.3', 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'],
  ] as const)('on %s a client listing ChaCha20 first keeps it', async (version, offer, expected) => {
    expect(await negotiated(version, offer)).toBe(expected);
  });
});
