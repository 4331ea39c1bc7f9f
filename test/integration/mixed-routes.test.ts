/**
 * Issue 18, with real clients: one server, one port, `mtlsOptions({ clientCertificate: 'optional' })`. Without a
 * certificate, curl and Node (HTTP/1.1 and HTTP/2) get 200 from the anonymous `/healthz` and 401 from every other
 * route, a forgotten guard included, and no handler but the anonymous one runs; a certificate that fails
 * verification never degrades to anonymous — the connection is refused and `onTlsClientRejected` reports it, with
 * or without SNI; a valid certificate is decided by the route's policy.
 */
import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { join } from 'node:path';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAnonymous } from '../../src/anonymous/index.js';
import type { AuditEvent } from '../../src/audit/event.js';
import { requirePeer } from '../../src/authz/index.js';
import { peerCertificate } from '../../src/identity/index.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { mtlsOptions, onTlsClientRejected } from '../../src/tls/index.js';
import type { MtlsWarning } from '../../src/tls/warnings.js';
import { externalTools } from '../helpers/external-tools.js';
import { httpsRequest } from '../helpers/https-client.js';
import { listenForSuite } from '../helpers/listen.js';
import { runProgram } from '../helpers/processes.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const PAYMENTS = 'spiffe://example.org/ns/prod/sa/payments';
let root: CertificateAuthority;
let serverCert: IssuedCertificate;
let payments: IssuedCertificate;
let reporting: IssuedCertificate;
let stranger: IssuedCertificate;
let dir: string;
let removeDir: () => void;
const closers: (() => Promise<unknown>)[] = [];

type Client = 'curl-h1' | 'curl-h2' | 'node-h1' | 'node-h2';
type Who = 'none' | 'payments' | 'reporting' | 'stranger';
/** A status and body, or `refused` when the connection failed (no HTTP answer). */
type Outcome = string;

interface Running {
  readonly port: number;
  readonly handled: string[];
  readonly rejections: AuditEvent[];
  readonly audit: AuditEvent[];
  readonly warnings: MtlsWarning[];
}

/** The app of the issue: an anonymous health route, a guarded route, and a route whose guard was forgotten. */
function createApp(audit: AuditEvent[], handled: string[]): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/healthz', allowAnonymous(), (ctx) => {
    handled.push('/healthz');
    ctx.body = 'ok';
  });
  router.get('/orders', requirePeer({ spiffe: PAYMENTS }), (ctx) => {
    handled.push('/orders');
    ctx.body = 'orders';
  });
  router.get('/forgotten', (ctx) => {
    handled.push('/forgotten');
    ctx.body = 'oops';
  });
  app.use(peerCertificate({ anonymousRoutes: router, onAudit: (event) => audit.push(event) }));
  app.use(router.routes());
  return app;
}

async function start(kind: 'https' | 'http2'): Promise<Running> {
  const handled: string[] = [];
  const audit: AuditEvent[] = [];
  const rejections: AuditEvent[] = [];
  const warnings: MtlsWarning[] = [];
  const options = mtlsOptions({
    key: serverCert.key,
    cert: serverCert.chain,
    ca: root.root,
    clientCertificate: 'optional',
    onWarning: (warning) => warnings.push(warning),
  });
  const callback = createApp(audit, handled).callback();
  const server =
    kind === 'https'
      ? https.createServer(options, callback)
      : http2.createSecureServer({ ...options, allowHTTP1: true }, callback);
  onTlsClientRejected(server, (event) => rejections.push(event));
  return { port: await listenForSuite(server, closers), handled, rejections, audit, warnings };
}

function credentials(who: Who): { cert?: string; key?: string } {
  const issued = { none: undefined, payments, reporting, stranger }[who];
  return issued === undefined ? {} : { cert: issued.chain, key: issued.key };
}

function files(who: Who): string[] {
  if (who === 'none') return [];
  const { cert, key } = credentials(who);
  writeFileSync(join(dir, `${who}.crt`), cert as string);
  writeFileSync(join(dir, `${who}.key`), key as string);
  return ['--cert', join(dir, `${who}.crt`), '--key', join(dir, `${who}.key`)];
}

async function curl(
  port: number,
  who: Who,
  path: string,
  version: '--http1.1' | '--http2',
  sni: boolean,
): Promise<Outcome> {
  const url = sni ? `https://localhost:${port}${path}` : `https://127.0.0.1:${port}${path}`;
  const args = [
    '-sS',
    '--max-time',
    '10',
    version,
    '--cacert',
    join(dir, 'ca.pem'),
    ...files(who),
    '-w',
    ' %{http_code}',
  ];
  if (sni) args.push('--resolve', `localhost:${port}:127.0.0.1`);
  const { code, stdout } = await runProgram('curl', [...args, url], { timeoutMs: 15_000 });
  const [body, status] = [stdout.slice(0, stdout.lastIndexOf(' ')), stdout.slice(stdout.lastIndexOf(' ') + 1)];
  // curl exits non-zero when the handshake or the connection fails before a response.
  return code !== 0 || status === '000' ? 'refused' : `${status} ${body}`;
}

async function nodeH1(port: number, who: Who, path: string, sni: boolean): Promise<Outcome> {
  // Without servername Node sends no SNI to an IP address (as kubelet's probes do not).
  const servername = sni ? 'localhost' : false;
  const answer = await httpsRequest({ port, path, ca: root.root, servername, ...credentials(who), timeoutMs: 10_000 });
  return answer.error === undefined ? `${answer.status} ${answer.body}` : 'refused';
}

function nodeH2(port: number, who: Who, path: string, sni: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const session = http2.connect(`https://${sni ? 'localhost' : '127.0.0.1'}:${port}`, {
      host: '127.0.0.1',
      ca: root.root,
      ...(sni ? { servername: 'localhost' } : {}),
      ...credentials(who),
    });
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      session.destroy();
      resolve(outcome);
    };
    session.on('error', () => finish('refused'));
    session.on('close', () => finish('refused'));
    session.setTimeout(10_000, () => finish('refused'));
    const stream = session.request({ ':path': path });
    let status = 0;
    let body = '';
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('data', (chunk) => {
      body += chunk;
    });
    // A stream that ends without a response: the session was destroyed under it.
    stream.on('end', () => finish(status === 0 ? 'refused' : `${status} ${body}`));
    stream.on('error', () => finish('refused'));
    stream.end();
  });
}

function call(client: Client, port: number, who: Who, path: string, sni = true): Promise<Outcome> {
  if (client === 'curl-h1') return curl(port, who, path, '--http1.1', sni);
  if (client === 'curl-h2') return curl(port, who, path, '--http2', sni);
  if (client === 'node-h1') return nodeH1(port, who, path, sni);
  return nodeH2(port, who, path, sni);
}

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=Mixed Routes Root' });
  const other = await createCertificateAuthority({ subject: 'CN=Mixed Routes Root' });
  serverCert = await root.issueServer();
  payments = await root.issueClient({ san: { uri: [PAYMENTS] } });
  reporting = await root.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/reporting'] } });
  // Same issuer name, another key: only the signature tells it apart.
  stranger = await other.issueClient({ san: { uri: [PAYMENTS] } });
  ({ path: dir, dispose: removeDir } = temporaryDirectory('mixed'));
  writeFileSync(join(dir, 'ca.pem'), root.root);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  removeDir();
});

const withCurl = externalTools('the mixed-routes suite with curl', ['curl']);
const clients: Client[] = [...(withCurl ? (['curl-h1', 'curl-h2'] as const) : []), 'node-h1', 'node-h2'];

describe.each(clients)('with %s against one optional-certificate port', (client) => {
  let running: Running;
  beforeAll(async () => {
    running = await start(client.endsWith('h2') ? 'http2' : 'https');
  });

  it.each<[Who, string, Outcome, string[]]>([
    ['none', '/healthz', '200 ok', ['/healthz']],
    ['none', '/orders', '401 Client certificate required', []],
    ['none', '/forgotten', '401 Client certificate required', []],
    ['none', '/not-a-route', '401 Client certificate required', []],
    ['payments', '/orders', '200 orders', ['/orders']],
    ['reporting', '/orders', '403 Forbidden', []],
    ['payments', '/healthz', '200 ok', ['/healthz']],
    ['stranger', '/healthz', 'refused', []],
    ['stranger', '/orders', 'refused', []],
  ])('a client with %s certificate on %s gets %s', async (who, path, expected, ran) => {
    running.handled.length = 0;
    running.rejections.length = 0;
    expect(await call(client, running.port, who, path)).toBe(expected);
    expect(running.handled).toEqual(ran);
    if (who === 'stranger') {
      expect(running.rejections.map((event) => event.reason)).toContain('TLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    } else {
      expect(running.rejections).toEqual([]);
    }
  });
});

describe('when a client sends no SNI (kubelet probes, clients connecting to an IP address)', () => {
  it.each<Client>(clients)('refuses a failed certificate on the very first connection too, with %s', async (client) => {
    // A fresh server: no SNI callback ran yet, so the request path is where the refusal happens first.
    const running = await start(client.endsWith('h2') ? 'http2' : 'https');
    expect(await call(client, running.port, 'stranger', '/healthz', false)).toBe('refused');
    expect(await call(client, running.port, 'stranger', '/healthz', false)).toBe('refused');
    expect(running.handled).toEqual([]);
    expect(running.rejections.map((event) => event.reason)).toEqual([
      'TLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'TLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ]);
    expect(await call(client, running.port, 'none', '/healthz', false)).toBe('200 ok');
    expect(await call(client, running.port, 'none', '/orders', false)).toBe('401 Client certificate required');
  });
});

describe('when the mode is chosen', () => {
  it('warns at startup, naming the consequence', async () => {
    const running = await start('https');
    expect(running.warnings.map((warning) => warning.code)).toContain('MTLS_CLIENT_CERTIFICATE_OPTIONAL');
    expect(running.warnings.find((warning) => warning.code === 'MTLS_CLIENT_CERTIFICATE_OPTIONAL')?.message).toMatch(
      /without a certificate can connect.*401.*allowAnonymous/,
    );
  });

  it('audits each decision of the default deny', async () => {
    const running = await start('https');
    await call('node-h1', running.port, 'none', '/healthz');
    await call('node-h1', running.port, 'none', '/forgotten');
    expect(running.audit.map((event) => event.reason)).toEqual([
      'PEER_NO_CERTIFICATE',
      'PEER_ANONYMOUS_ROUTE',
      'PEER_NO_CERTIFICATE',
      'PEER_ANONYMOUS_DENIED',
    ]);
  });

  it('keeps refusing certificate-less clients at the handshake in the default mode', async () => {
    const server = https.createServer(
      mtlsOptions({ key: serverCert.key, cert: serverCert.chain, ca: root.root, onWarning: () => {} }),
    );
    expect(await call('node-h1', await listenForSuite(server, closers), 'none', '/healthz')).toBe('refused');
  });
});
