/**
 * `npm run demo`: koa-mtls doing its whole job on real TLS, with nothing to configure.
 *
 * It makes a throwaway PKI and file root, starts an example service on 127.0.0.1 (ephemeral port) built with
 * `mtlsOptions`, `peerCertificate`, `requirePeer` and a sandbox, plays a scripted session with real TLS clients, and
 * prints what each caller got next to what was expected. It exits 0 only when every outcome matched, and removes
 * its files and server either way.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { type AuditEvent, createSandbox, mtlsOptions, onTlsClientRejected, peerCertificate } from 'koa-mtls';
import { createCertificateAuthority, type IssuedCertificate } from 'koa-mtls/pki';
import { createFileRouter } from './file-service.js';
import { createRouter } from './spiffe-router.js';

interface Call {
  readonly who: string;
  readonly client: IssuedCertificate | undefined;
  readonly method: 'GET' | 'PUT';
  readonly path: string;
  readonly expected: string;
}

/** What happened: the HTTP status, or that the TLS handshake refused the client. */
function request(port: number, ca: string, call: Call, requestId: string): Promise<string> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: call.method,
        path: call.path,
        servername: 'localhost',
        ca,
        agent: false,
        headers: { 'x-request-id': requestId },
        ...(call.client === undefined ? {} : { key: call.client.key, cert: call.client.chain }),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      },
    );
    req.on('error', () => resolve('TLS refused'));
    req.end(call.method === 'PUT' ? 'uploaded by the demo\n' : undefined);
  });
}

async function main(): Promise<boolean> {
  const work = mkdtempSync(join(tmpdir(), 'koa-mtls-demo-'));
  const root = join(work, 'files');
  mkdirSync(root);
  writeFileSync(join(root, 'report.txt'), 'quarterly numbers\n');
  writeFileSync(join(work, 'secret.txt'), 'the host secret: must never be served\n');
  symlinkSync('../secret.txt', join(root, 'escape.txt'));

  const ca = await createCertificateAuthority({ subject: 'CN=demo root CA,O=koa-mtls demo' });
  const stranger = await createCertificateAuthority({ subject: 'CN=demo root CA,O=koa-mtls demo' });
  const server = await ca.issueServer();
  const workload = (name: string) => ca.issueClient({ san: { uri: [`spiffe://example.org/ns/prod/sa/${name}`] } });
  const payments = await workload('payments');
  const reporting = await workload('reporting');
  const expired = await ca.issueClient({
    san: { uri: ['spiffe://example.org/ns/prod/sa/payments'] },
    notBefore: new Date(Date.now() - 2 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  const untrusted = await stranger.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/payments'] } });

  const events: AuditEvent[] = [];
  const onAudit = (event: AuditEvent) => events.push(event);
  const sandbox = await createSandbox(root, { onAudit });
  const app = new Koa();
  app.use(peerCertificate({ onAudit }));
  app.use(createRouter(onAudit).routes());
  app.use(createFileRouter(sandbox, onAudit).routes());
  const tls = mtlsOptions({ key: server.key, cert: server.chain, ca: ca.root, onWarning: () => {} });
  const httpsServer = https.createServer(tls, app.callback());
  onTlsClientRejected(httpsServer, onAudit);
  await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpsServer.address() as AddressInfo;

  const calls: Call[] = [
    { who: 'no client certificate', client: undefined, method: 'GET', path: '/api/orders', expected: 'TLS refused' },
    {
      who: 'certificate from another CA (same name)',
      client: untrusted,
      method: 'GET',
      path: '/api/orders',
      expected: 'TLS refused',
    },
    { who: 'expired certificate', client: expired, method: 'GET', path: '/api/orders', expected: 'TLS refused' },
    { who: 'SPIFFE workload payments', client: payments, method: 'GET', path: '/api/orders', expected: '200' },
    { who: 'SPIFFE workload reporting', client: reporting, method: 'GET', path: '/api/orders', expected: '403' },
    { who: 'SPIFFE workload reporting', client: reporting, method: 'GET', path: '/api/reports', expected: '200' },
    {
      who: 'payments: a file in the root',
      client: payments,
      method: 'GET',
      path: '/files/report.txt',
      expected: '200',
    },
    {
      who: 'payments: traversal',
      client: payments,
      method: 'GET',
      path: '/files/..%2f..%2fetc%2fpasswd',
      expected: '400',
    },
    {
      who: 'payments: symlink out of the root',
      client: payments,
      method: 'GET',
      path: '/files/escape.txt',
      expected: '404',
    },
    { who: 'payments: upload a new file', client: payments, method: 'PUT', path: '/files/upload.txt', expected: '201' },
    {
      who: 'payments: overwrite by upload',
      client: payments,
      method: 'PUT',
      path: '/files/report.txt',
      expected: '404',
    },
  ];

  const rows: string[][] = [];
  let allMatched = true;
  try {
    for (const [index, call] of calls.entries()) {
      const requestId = `demo-${index + 1}`;
      const seenBefore = events.length;
      const got = await request(port, ca.root, call, requestId);
      // The reason the operator sees: the audit event of this request (or of this rejected handshake)
      await new Promise((resolve) => setImmediate(resolve));
      const own = events.slice(seenBefore).filter((e) => e.requestId === requestId || e.kind === 'tls');
      const decisive = own.find((e) => e.outcome !== 'allow') ?? own.at(-1);
      const matched = got === call.expected;
      allMatched &&= matched;
      rows.push([
        call.who,
        `${call.method} ${call.path}`,
        call.expected,
        got,
        decisive?.reason ?? '',
        matched ? 'ok' : 'MISMATCH',
      ]);
    }
  } finally {
    await new Promise((resolve) => httpsServer.close(resolve));
    await sandbox.close();
    rmSync(work, { recursive: true, force: true });
  }

  const header = ['who called', 'request', 'expected', 'got', 'audit reason', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(`koa-mtls demo: a service on https://127.0.0.1:${port} (TLS 1.3, client certificates required)\n`);
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log(`\n${allMatched ? 'every outcome matched' : 'SOME OUTCOMES DID NOT MATCH'}; files and server removed.`);
  return allMatched;
}

main().then(
  (ok) => {
    process.exitCode = ok ? 0 : 1;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
