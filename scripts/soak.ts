/**
 * Soak test: a real mTLS Koa service on 127.0.0.1 (mtlsOptions + peerCertificate + requirePeer on @koa/router +
 * createSandbox/sandboxPath), driven for a bounded time by concurrent real TLS clients with several client
 * certificates, over keep-alive and fresh connections, with mixed traffic:
 *
 * - `allowed`   an authorized peer reads a file inside the root          → 200 and the file's exact bytes
 * - `denied`    a verified peer the policy does not allow                  → 403
 * - `noPeer`    a TLS client without a certificate                         → handshake refused (no HTTP answer)
 * - `traversal` an authorized peer sends a lexically bad path              → 400
 * - `symlink`   an authorized peer names a symlink leading out of the root → 404
 *
 * It checks that every answer matches its class, that every request's audit events are exactly the expected ones
 * (correlated by `x-request-id`; TLS rejections counted), that 4xx bodies never carry the canary or a path, and that
 * RSS, heap (after `global.gc` when exposed) and open descriptors stay flat between the first and the last third.
 * It prints one JSON line and exits 1 on any violation. It talks only to 127.0.0.1 and stops by itself.
 *
 * Run: `node --expose-gc --import tsx scripts/soak.ts --seconds 60` (default 300 s; 5–3600 s; `--clients N`, 1–32).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, createSecureContext, type SecureContext } from 'node:tls';
import Router from '@koa/router';
import Koa from 'koa';
import {
  type AuditEvent,
  createSandbox,
  KoaMtlsError,
  mtlsOptions,
  onTlsClientRejected,
  peerCertificate,
  requirePeer,
  sandboxPath,
} from '../src/index.js';
import { createCertificateAuthority } from '../src/pki/index.js';
import { compareThirds, gcExposed, type ResourceSample, sample, type Tolerance } from './soak/resources.js';

type RequestClass = 'allowed' | 'denied' | 'noPeer' | 'traversal' | 'symlink';

const CLASSES: readonly RequestClass[] = ['allowed', 'denied', 'noPeer', 'traversal', 'symlink'];
// Weights: mostly allowed traffic, every denial class well represented; handshakes are the expensive part.
const WEIGHTS: Readonly<Record<RequestClass, number>> = { allowed: 8, denied: 3, noPeer: 1, traversal: 3, symlink: 2 };

// Percent-encoded once, as a client would send them; Koa's querystring decodes exactly once.
const TRAVERSALS: readonly { readonly query: string; readonly reason: string }[] = [
  { query: 'name=..%2Fcanary.txt', reason: 'PATH_DOT_SEGMENT' },
  { query: 'name=public%2F..%2F..%2Fcanary.txt', reason: 'PATH_DOT_SEGMENT' },
  { query: 'name=%252e%252e%252fcanary.txt', reason: 'PATH_PERCENT' },
  { query: 'name=%2Fetc%2Fpasswd', reason: 'PATH_ABSOLUTE' },
  { query: 'name=..%5Ccanary.txt', reason: 'PATH_BACKSLASH' },
  { query: 'name=public%2Fa.txt%00', reason: 'PATH_CONTROL_CHAR' },
  { query: 'name=%EF%BC%8E%EF%BC%8E%2Fcanary.txt', reason: 'PATH_NOT_NFKC' },
  { query: 'name=a&name=b', reason: 'PATH_NOT_STRING' },
  { query: 'name=C%3Acanary.txt', reason: 'PATH_COLON' },
];
const SYMLINKS = ['escape.txt', 'up/canary.txt'] as const;
const FILES = ['public/a.txt', 'public/b.txt', 'public/nested/c.txt'] as const;

const TOLERANCE: Tolerance = {
  rssRatio: 1.2,
  rssSlackBytes: 16 * 1048576,
  heapRatio: 1.25,
  heapSlackBytes: 4 * 1048576,
  fdSlack: 16,
};

interface Arguments {
  readonly seconds: number;
  readonly clients: number;
}

function parseArguments(argv: readonly string[]): Arguments {
  let seconds = 300;
  let clients = 6;
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = Number(argv[i + 1]);
    if (flag === '--seconds') seconds = value;
    else if (flag === '--clients') clients = value;
    else throw new Error(`unknown argument ${String(flag)} (use --seconds N, --clients N)`);
    i += 1;
  }
  // Bounded: the soak must stop by itself, whatever it is given.
  if (!Number.isInteger(seconds) || seconds < 5 || seconds > 3600) throw new Error('--seconds must be 5–3600');
  if (!Number.isInteger(clients) || clients < 1 || clients > 32) throw new Error('--clients must be 1–32');
  return { seconds, clients };
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

function pickClass(): RequestClass {
  const total = CLASSES.reduce((sum, c) => sum + WEIGHTS[c], 0);
  let roll = Math.random() * total;
  for (const c of CLASSES) {
    roll -= WEIGHTS[c];
    if (roll < 0) return c;
  }
  return 'allowed';
}

interface Credentials {
  readonly cert: string;
  readonly key: string;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

function request(
  port: number,
  path: string,
  requestId: string,
  secureContext: SecureContext,
  agent: https.Agent | false,
): Promise<Answer> {
  // https passes TLS options through to tls.connect; @types/node's RequestOptions does not list secureContext.
  const options: https.RequestOptions & ConnectionOptions = {
    host: '127.0.0.1',
    port,
    path,
    servername: 'localhost',
    secureContext,
    agent,
    headers: { 'x-request-id': requestId },
    timeout: 10_000,
  };
  return new Promise((resolve, reject) => {
    const req = https.request(options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<number> {
  const args = parseArguments(process.argv.slice(2));
  const startedAt = Date.now();
  const violations: string[] = [];
  const violate = (message: string) => {
    // Keep the summary one line: the first few messages plus a count.
    if (violations.length < 20) violations.push(message);
    else violations[19] = `…and more (${message})`;
  };

  // Filesystem fixture: a root with files, two symlinks out of it, and a canary outside it.
  const base = mkdtempSync(join(tmpdir(), 'koa-mtls-soak-'));
  const root = join(base, 'root');
  const canary = `CANARY-${Math.random().toString(36).slice(2)}`;
  mkdirSync(join(root, 'public', 'nested'), { recursive: true });
  const contents = new Map<string, string>();
  for (const file of FILES) {
    const text = `contents of ${file}\n`;
    writeFileSync(join(root, file), text);
    contents.set(file, text);
  }
  writeFileSync(join(base, 'canary.txt'), canary);
  symlinkSync('../canary.txt', join(root, 'escape.txt'));
  symlinkSync('..', join(root, 'up'));

  // PKI: one root, a server certificate and three client certificates (two allowed, one denied).
  const ca = await createCertificateAuthority();
  const server = await ca.issueServer();
  const reader = await ca.issueClient({ san: { uri: ['spiffe://example.org/ns/soak/sa/reader'] } });
  const writer = await ca.issueClient({
    subject: 'CN=writer,O=Soak',
    san: { uri: ['spiffe://example.org/ns/soak/sa/writer'], dns: ['writer.soak.example'] },
  });
  const intruder = await ca.issueClient({ san: { uri: ['spiffe://example.org/ns/other/sa/intruder'] } });
  const allowedCredentials: readonly Credentials[] = [reader, writer].map((c) => ({ cert: c.chain, key: c.key }));
  const deniedCredentials: Credentials = { cert: intruder.chain, key: intruder.key };
  // One client context per certificate, as a real client keeps: a context per connection would measure OpenSSL's
  // allocator churn in the client instead of the service.
  const contexts = new Map<Credentials | undefined, SecureContext>([
    [undefined, createSecureContext({ ca: ca.root })],
    ...[...allowedCredentials, deniedCredentials].map((c): [Credentials, SecureContext] => [
      c,
      createSecureContext({ ca: ca.root, cert: c.cert, key: c.key }),
    ]),
  ]);
  const contextOf = (credentials: Credentials | undefined) => contexts.get(credentials) as SecureContext;

  // Audit: per-request events by x-request-id (taken when the answer arrives); TLS rejections counted.
  const byRequest = new Map<string, string[]>();
  const auditCounts: Record<string, number> = {};
  let tlsRejections = 0;
  const onAudit = (event: AuditEvent) => {
    const key = `${event.kind}:${event.outcome}:${event.reason}`;
    auditCounts[key] = (auditCounts[key] ?? 0) + 1;
    if (event.kind === 'tls') {
      tlsRejections += 1;
      return;
    }
    if (event.requestId === undefined) {
      violate(`audit event without request id: ${key}`);
      return;
    }
    const list = byRequest.get(event.requestId);
    if (list === undefined) byRequest.set(event.requestId, [key]);
    else list.push(key);
  };

  const sandbox = await createSandbox(root, { onAudit });
  const app = new Koa();
  const router = new Router();
  router.get(
    '/files',
    requirePeer({ spiffe: 'spiffe://example.org/ns/soak/sa/*' }, { onAudit }),
    sandboxPath({ sandbox, from: (ctx) => ctx.query.name, onAudit }),
    async (ctx) => {
      const sandboxed = ctx.state.sandboxed;
      // sandboxPath always sets it before the handler runs; a missing one is a wiring defect.
      if (sandboxed === undefined) throw new Error('sandboxPath did not run');
      const handle = await sandboxed.open();
      try {
        ctx.body = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    },
  );
  app.use(peerCertificate({ onAudit }));
  app.use(router.routes());
  let unexpectedServerErrors = 0;
  app.on('error', (error: unknown) => {
    // Denials arrive here as 4xx KoaMtlsErrors; anything else is a defect.
    if (error instanceof KoaMtlsError && error.status < 500) return;
    unexpectedServerErrors += 1;
    violate(`server error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  });

  const httpsServer = https.createServer(
    mtlsOptions({ key: server.key, cert: server.chain, ca: ca.root }),
    app.callback(),
  );
  const detach = onTlsClientRejected(httpsServer, onAudit);
  await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
  const port = (httpsServer.address() as AddressInfo).port;

  // Resources: one sample a second; the first 10 % is warm-up (JIT, session caches, agent pools), not compared.
  const samples: ResourceSample[] = [];
  const warmUpMs = args.seconds * 100;
  const sampler = setInterval(() => {
    const s = sample(startedAt);
    if (s.atMs >= warmUpMs) samples.push(s);
  }, 1000);

  const sent: Record<RequestClass, number> = { allowed: 0, denied: 0, noPeer: 0, traversal: 0, symlink: 0 };
  const matched: Record<RequestClass, number> = { allowed: 0, denied: 0, noPeer: 0, traversal: 0, symlink: 0 };
  let connectionsNew = 0;
  let requestsKeepAlive = 0;
  let counter = 0;
  const deadline = startedAt + args.seconds * 1000;

  const checkAudit = (requestId: string, expected: readonly string[]) => {
    const events = byRequest.get(requestId) ?? [];
    byRequest.delete(requestId);
    const ok =
      events.length === expected.length &&
      expected.every((want, index) => {
        const got = events[index] ?? '';
        return want.endsWith('*') ? got.startsWith(want.slice(0, -1)) : got === want;
      });
    if (!ok) violate(`audit for ${requestId}: expected ${expected.join(' ')}, got ${events.join(' ') || 'nothing'}`);
    return ok;
  };

  const worker = async (index: number) => {
    // One keep-alive agent per certificate per worker; about half of the requests open a fresh connection instead.
    const agents = new Map<Credentials, https.Agent>();
    const agentFor = (credentials: Credentials): https.Agent | false => {
      if (Math.random() < 0.5) {
        connectionsNew += 1;
        return false;
      }
      requestsKeepAlive += 1;
      let agent = agents.get(credentials);
      if (agent === undefined) {
        agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
        agents.set(credentials, agent);
      }
      return agent;
    };
    while (Date.now() < deadline) {
      const kind = pickClass();
      counter += 1;
      const requestId = `soak-${index}-${counter}`;
      sent[kind] += 1;
      try {
        if (kind === 'noPeer') {
          connectionsNew += 1;
          try {
            const answer = await request(port, '/files?name=public%2Fa.txt', requestId, contextOf(undefined), false);
            violate(`noPeer got an HTTP answer ${answer.status}`);
          } catch {
            // Expected: the server refuses a client without a certificate during or right after the handshake.
            matched.noPeer += 1;
          }
          continue;
        }
        const credentials = kind === 'denied' ? deniedCredentials : pick(allowedCredentials);
        const agent = agentFor(credentials);
        let path: string;
        let expectedStatus: number;
        let expectedAudit: string[];
        let expectedBody: string | undefined;
        const identity = 'identity:allow:PEER_IDENTIFIED';
        const allow = 'authz:allow:POLICY_MATCH';
        if (kind === 'allowed') {
          const file = pick(FILES);
          path = `/files?name=${encodeURIComponent(file)}`;
          expectedStatus = 200;
          expectedBody = contents.get(file);
          expectedAudit = [identity, allow, 'sandbox:allow:OPENED'];
        } else if (kind === 'denied') {
          path = `/files?name=${encodeURIComponent(pick(FILES))}`;
          expectedStatus = 403;
          expectedAudit = [identity, 'authz:deny:POLICY_NO_MATCH'];
        } else if (kind === 'traversal') {
          const traversal = pick(TRAVERSALS);
          path = `/files?${traversal.query}`;
          expectedStatus = 400;
          expectedAudit = [identity, allow, `sandbox:reject:${traversal.reason}`];
        } else {
          path = `/files?name=${encodeURIComponent(pick(SYMLINKS))}`;
          expectedStatus = 404;
          expectedAudit = [identity, allow, 'sandbox:deny:SYMLINK_ESCAPE'];
        }
        const answer = await request(port, path, requestId, contextOf(credentials), agent);
        const auditOk = checkAudit(requestId, expectedAudit);
        if (answer.status !== expectedStatus) {
          violate(`${kind} ${path}: expected ${expectedStatus}, got ${answer.status}`);
        } else if (expectedBody !== undefined && answer.body !== expectedBody) {
          violate(`${kind} ${path}: wrong body`);
        } else if (expectedStatus >= 400 && (answer.body.includes(canary) || answer.body.includes(base))) {
          violate(`${kind} ${path}: the answer leaks the canary or a path`);
        } else if (auditOk) {
          matched[kind] += 1;
        }
      } catch (error) {
        violate(`${kind} ${requestId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    for (const agent of agents.values()) agent.destroy();
  };

  // A watchdog: whatever happens, the process ends shortly after the requested time.
  const watchdog = setTimeout(
    () => {
      console.log(JSON.stringify({ ok: false, violations: ['watchdog: the soak did not stop in time'] }));
      process.exit(2);
    },
    (args.seconds + 60) * 1000,
  );
  watchdog.unref();

  await Promise.all(Array.from({ length: args.clients }, (_, index) => worker(index)));
  clearInterval(sampler);
  // TLS rejection events can trail the client's view of the failed handshake by a moment.
  for (let waited = 0; tlsRejections < sent.noPeer && waited < 2000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  detach();
  await new Promise<void>((resolve) => {
    httpsServer.close(() => resolve());
    httpsServer.closeAllConnections();
  });
  await sandbox.close();
  rmSync(base, { recursive: true, force: true });

  for (const kind of CLASSES) {
    if (matched[kind] !== sent[kind]) violate(`${kind}: ${matched[kind]} of ${sent[kind]} answered as expected`);
  }
  if (tlsRejections !== sent.noPeer) violate(`TLS rejections audited ${tlsRejections}, noPeer sent ${sent.noPeer}`);
  if (byRequest.size > 0) violate(`${byRequest.size} request ids with audit events but no answer`);
  const resources = compareThirds(samples, TOLERANCE);
  for (const message of resources.violations) violate(message);

  const total = CLASSES.reduce((sum, c) => sum + sent[c], 0);
  const summary = {
    ok: violations.length === 0,
    seconds: args.seconds,
    clients: args.clients,
    requests: total,
    perSecond: Math.round(total / args.seconds),
    sent,
    matched,
    connectionsNew,
    requestsKeepAlive,
    audit: auditCounts,
    unexpectedServerErrors,
    gcExposed,
    resources: { first: resources.first, last: resources.last, tolerance: TOLERANCE, warmUpSeconds: warmUpMs / 1000 },
    violations,
  };
  console.log(JSON.stringify(summary));
  return violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.log(JSON.stringify({ ok: false, violations: [`soak crashed: ${String(error)}`] }));
    process.exit(1);
  },
);
