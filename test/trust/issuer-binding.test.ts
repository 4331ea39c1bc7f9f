/**
 * Issuer binding on the TLS path, with real TLS on loopback. The server trusts A and B; the client's leaf is signed
 * by A and the client appends B's public certificate (or a look-alike of it) to its chain. Node links
 * `getPeerCertificate(true)` by names from what the client sent, so before the trust engine `issuerChain` named B
 * and a route pinned to B answered 200. Now issuers come from a path verified by signatures: 403, handler not run.
 */

import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import Koa from 'koa';
import { beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../../src/authz/index.js';
import { peerCertificate } from '../../src/identity/peer-certificate.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { mtlsOptions } from '../../src/tls/mtls-options.js';
import { createTrust, type Trust } from '../../src/trust/trust.js';
import { close, listen } from '../helpers/listen.js';
import { get } from '../identity/helpers/tls.js';
import { type Made, make } from './helpers/custom-certificates.js';

let serverRoot: CertificateAuthority;
let a: Made;
let b: Made;
let folded: Made;
let server: IssuedCertificate;
let client: Made;

/** The same DER in a differently wrapped PEM: what a client that re-encodes the text would send. */
function rewrapped(pem: string): string {
  const base64 = new X509Certificate(pem).raw.toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,76}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
}

beforeAll(async () => {
  serverRoot = await createCertificateAuthority({ subject: 'CN=Server Root' });
  server = await serverRoot.issueServer();
  a = await make({ subject: 'CN=Shared Root,O=Acme', ca: true });
  // Same DN as A, another key: OpenSSL (and Node's name linking) cannot tell them apart by name
  b = await make({ subject: 'CN=Shared Root,O=Acme', ca: true });
  // Equal to A's DN after OpenSSL's canonical case and space folding
  folded = await make({ subject: 'CN=shared   ROOT,O=ACME', ca: true });
  // No AKI: nothing but the signature tells which same-named CA issued it (AKI is only a SHOULD for many CAs)
  client = await make({ subject: 'CN=mallory', issuer: a, keyIdentifiers: false });
});

interface Running {
  readonly port: number;
  readonly runs: () => number;
  stop(): Promise<void>;
}

async function start(pinned: string, trust: Trust | undefined, serverTrust: Trust): Promise<Running> {
  const app = new Koa();
  let runs = 0;
  app.use(peerCertificate(trust === undefined ? {} : { trust }));
  app.use(requirePeer({ issuerFingerprint256: pinned }));
  app.use((ctx) => {
    runs += 1;
    ctx.body = 'handled';
  });
  const httpsServer = https.createServer(
    mtlsOptions({ key: server.key, cert: server.certificate, trust: serverTrust, onWarning: () => {} }),
    app.callback(),
  );
  const port = await listen(httpsServer);
  return { port, runs: () => runs, stop: () => close(httpsServer) };
}

const attacks: readonly { name: string; appended: () => string; pinned: () => string }[] = [
  { name: "B's certificate (same DN as A)", appended: () => b.pem, pinned: () => b.fingerprint256 },
  {
    name: 'a CA whose DN equals A after case/space folding',
    appended: () => folded.pem,
    pinned: () => folded.fingerprint256,
  },
  {
    name: "B's certificate re-encoded as other PEM text",
    appended: () => rewrapped(b.pem),
    pinned: () => b.fingerprint256,
  },
];

describe.each([
  ['with the shared trust', true],
  ['without a trust (issuers linked by signature)', false],
])('when a client signed by A appends another trusted CA, %s', (_label, shared) => {
  let trust: Trust;
  beforeAll(() => {
    trust = createTrust({ ca: [a.pem, b.pem, folded.pem] });
  });

  it.each(attacks)('a route pinned to that CA answers 403 for $name', async ({ appended, pinned }) => {
    const running = await start(pinned(), shared ? trust : undefined, trust);
    try {
      const answer = await get(running.port, {
        ca: serverRoot.root,
        cert: `${client.pem}${appended()}`,
        key: client.key,
      });
      expect(answer).toEqual({ status: 403, body: 'Forbidden' });
      expect(running.runs()).toBe(0);
    } finally {
      await running.stop();
    }
  });

  it(`a route pinned to A, the CA that signed the leaf, answers ${shared ? '200' : '403 (no anchor is known here)'}`, async () => {
    const running = await start(a.fingerprint256, shared ? trust : undefined, trust);
    try {
      const answer = await get(running.port, { ca: serverRoot.root, cert: `${client.pem}${b.pem}`, key: client.key });
      // Without a trust, A is not among the certificates Node links (the client sent B), so no pin can match:
      // fail closed. With the trust, the engine finds the path to A by signature.
      expect(answer).toEqual(shared ? { status: 200, body: 'handled' } : { status: 403, body: 'Forbidden' });
      expect(running.runs()).toBe(shared ? 1 : 0);
    } finally {
      await running.stop();
    }
  });
});
