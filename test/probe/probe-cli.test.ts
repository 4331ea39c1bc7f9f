/**
 * `koa-mtls probe` end to end: real mTLS servers on 127.0.0.1 built with mtlsOptions, the CLI in-process with a client
 * certificate made here, routes from the app module and from OpenAPI documents.
 */
import { createServer } from 'node:https';
import Koa from 'koa';
import { mtlsOptions } from 'koa-mtls';
import { createCertificateAuthority } from 'koa-mtls/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openapiSecurity } from '../../src/routes/openapi-security.js';
import { runCli } from '../helpers/captured-io.js';
import { close, listen } from '../helpers/listen.js';
import { temporaryDirectory, writeFile } from '../helpers/temporary-directory.js';
import { closeSandboxes, createApp as createFileServiceApp } from './fixtures/file-service-app.js';
import { createApp as createVulnerableApp } from './fixtures/vulnerable-app.js';
import { validateSarif } from './sarif-schema.js';

const fixtures = 'test/probe/fixtures';
const work = temporaryDirectory('probe');
const closers: (() => Promise<void>)[] = [];
let tls: ReturnType<typeof mtlsOptions>;
let credentials: string[];

const run = (...argv: string[]) => runCli(argv);

/** Serves `app` over mTLS on 127.0.0.1 and counts the requests that reach it. */
async function serve(app: Koa): Promise<{ origin: string; requests: () => number }> {
  let requests = 0;
  const server = createServer(tls, (request, response) => {
    requests += 1;
    app.callback()(request, response);
  });
  const port = await listen(server);
  closers.push(() => close(server));
  return { origin: `https://127.0.0.1:${port}`, requests: () => requests };
}

beforeAll(async () => {
  const ca = await createCertificateAuthority();
  const server = await ca.issueServer({ san: { ip: ['127.0.0.1'], dns: ['localhost'] } });
  tls = mtlsOptions({ key: server.key, cert: server.chain, ca: ca.root, onWarning: () => {} });
  const client = await ca.issueClient({ san: { uri: ['spiffe://example.org/ns/test/sa/probe'] } });
  credentials = [
    '--cert',
    writeFile(work.path, 'client.pem', client.chain),
    '--key',
    writeFile(work.path, 'client-key.pem', client.key),
    '--ca',
    writeFile(work.path, 'ca.pem', ca.root),
  ];
});
afterAll(async () => {
  for (const closeOne of closers.reverse()) await closeOne();
  await closeSandboxes();
  work.dispose();
});

const FAST = ['--rate', '1000'];

describe('koa-mtls probe against the deliberately vulnerable fixture', () => {
  it('reports exactly the planted problems, with evidence and fixes, and exits 1', async () => {
    const { origin } = await serve(createVulnerableApp());
    const { code, stdout, stderr } = await run(
      'probe',
      origin,
      '--app',
      `${fixtures}/vulnerable-app.ts`,
      '--json',
      ...FAST,
      ...credentials,
    );
    expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
    const result = JSON.parse(stdout);
    expect(result.schema).toBe('koa-mtls/probe@1');
    expect(
      result.findings.map((f: Record<string, unknown>) => [f.category, f.rule, f.operation, f.input ?? '-', f.level]),
    ).toEqual([
      ['input-validation', 'host-content-via-input', 'GET /download', 'query name', 'error'],
      ['input-validation', 'host-path-in-error', 'GET /preview/{name}', '-', 'warning'],
      ['property-authorization', 'report-only-route-reached', 'GET /reports/{id}', '-', 'warning'],
      ['property-authorization', 'unguarded-route-reached', 'GET /status', '-', 'warning'],
      ['unsafe-consumption', 'host-data-on-benign-request', 'GET /debug/hosts', '-', 'error'],
    ]);
    const [traversal, pathError, , , hosts] = result.findings;
    // The leak is shown by the content of the host file, from the first probe that reached it.
    expect(traversal.request).toEqual({
      method: 'GET',
      path: `/download?name=${encodeURIComponent(`${'../'.repeat(10)}etc/passwd`)}`,
      form: 'traversal',
      target: '/etc/passwd',
    });
    expect(traversal.marker).toBe('local:/etc/passwd');
    expect(traversal.evidence).toMatch(/^root:/);
    expect(traversal.fix).toMatch(/sandboxPath/);
    expect(pathError.evidence).toMatch(/^ENOENT: no such file or directory, open '\//);
    expect(hosts.marker).toBe('local:/etc/hosts');
    expect(hosts.fix).toMatch(/Remove the route/);
    expect(result.stats).toMatchObject({ truncated: 0, failed: 0, redirects: 0 });
  });

  it('prints a table with the same findings, and the SARIF it writes validates against the SARIF 2.1.0 schema', async () => {
    const { origin } = await serve(createVulnerableApp());
    const args = [origin, '--app', `${fixtures}/vulnerable-app.ts`, '--guess-query', 'name', ...FAST, ...credentials];
    const table = await run('probe', ...args);
    expect(table.code).toBe(1);
    expect(table.stdout.split('\n')[0]).toMatch(/^LEVEL +CATEGORY +OPERATION +INPUT +STATUS +EVIDENCE$/);
    expect(table.stdout).toMatch(/^error +Input Validation +GET \/download +query name +200 +root:/m);
    expect(table.stdout).toMatch(/^5 finding\(s\) \(2 error, 3 warning\)/m);

    const sarif = await run('probe', ...args, '--sarif');
    expect(sarif.code).toBe(1);
    const log = JSON.parse(sarif.stdout);
    expect(validateSarif(log)).toEqual([]);
    expect(log.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toEqual([
      'host-content-via-input',
      'host-path-in-error',
      'report-only-route-reached',
      'unguarded-route-reached',
      'host-data-on-benign-request',
    ]);
    expect(log.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toBe(
      `${fixtures}/vulnerable-app.ts`,
    );
  });

  it('--fail-on error ignores warnings; the default (warning) does not', async () => {
    const { origin } = await serve(createVulnerableApp());
    // The document carries the inventory's verdict (x-koa-mtls, as `koa-mtls routes --openapi` writes it).
    const document = {
      openapi: '3.1.0',
      info: { title: 'status only', version: '1' },
      paths: { '/status': { get: { 'x-koa-mtls': { guarded: false, flags: ['no-policy'] } } } },
    };
    const spec = writeFile(work.path, 'status.json', JSON.stringify(document));
    const warnings = await run('probe', origin, '--openapi', spec, ...FAST, ...credentials);
    expect(warnings.code).toBe(1);
    expect(warnings.stdout).toMatch(/^warning +Property Authorization +GET \/status +- +200 +HTTP 200$/m);
    const errorsOnly = await run('probe', origin, '--openapi', spec, '--fail-on', 'error', ...FAST, ...credentials);
    expect({ code: errorsOnly.code, stdout: errorsOnly.stdout }).toEqual({ code: 0, stdout: warnings.stdout });
  });

  it('shows a progress line on a terminal, on stderr', async () => {
    const { origin } = await serve(createVulnerableApp());
    const document = { openapi: '3.1.0', info: { title: 'one', version: '1' }, paths: { '/status': { get: {} } } };
    const spec = writeFile(work.path, 'one.json', JSON.stringify(document));
    const { code, stderr } = await runCli(['probe', origin, '--openapi', spec, ...FAST, ...credentials], {
      isTTY: true,
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '\rkoa-mtls probe: 1/1 requests, 0 finding(s)\n' });
  });
});

describe('koa-mtls probe against the sandboxed example (examples/file-service.ts)', () => {
  it('reports nothing and exits 0, with routes from the app and from its OpenAPI document in YAML', async () => {
    const app = await createFileServiceApp();
    const { origin, requests } = await serve(app);
    const spec = writeFile(work.path, 'file-service.yaml', stringify(openapiSecurity(app)));
    const { code, stdout, stderr } = await run(
      'probe',
      origin,
      '--app',
      `${fixtures}/file-service-app.ts`,
      '--openapi',
      spec,
      '--json',
      ...FAST,
      ...credentials,
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const result = JSON.parse(stdout);
    expect(result.findings).toEqual([]);
    // Every payload was sent (nothing cut by the budget); PUT was not, as it is not read-only.
    expect(result.stats).toMatchObject({ truncated: 0, failed: 0 });
    expect(result.stats.sent).toBeGreaterThan(30);
    expect(requests()).toBe(result.stats.sent);
    expect(result.skipped).toEqual([
      { operation: 'PUT /files/{name}', reason: 'not read-only (use --unsafe-methods)' },
    ]);
  });
});

describe('koa-mtls probe safety', () => {
  it('never follows a redirect to a second origin', async () => {
    const elsewhere = await serve(
      new Koa().use((ctx) => {
        ctx.body = 'root:x:0:0:root:/root:/bin/sh\n';
      }),
    );
    const redirecting = await serve(
      new Koa().use((ctx) => {
        ctx.redirect(`${elsewhere.origin}/download${ctx.search}`);
      }),
    );
    const document = {
      openapi: '3.1.0',
      info: { title: 'redirects', version: '1' },
      paths: { '/download': { get: { parameters: [{ name: 'file', in: 'query', schema: { type: 'string' } }] } } },
    };
    const spec = writeFile(work.path, 'redirect.json', JSON.stringify(document));
    const { code, stdout } = await run(
      'probe',
      redirecting.origin,
      '--openapi',
      spec,
      '--json',
      ...FAST,
      ...credentials,
    );
    const result = JSON.parse(stdout);
    expect(redirecting.requests()).toBe(result.stats.sent);
    expect(result.stats.redirects).toBe(result.stats.sent);
    expect(result.stats.offOriginRedirects).toBe(result.stats.sent);
    expect(elsewhere.requests()).toBe(0);
    expect({ code, findings: result.findings }).toEqual({ code: 0, findings: [] });
  });

  it('--dry-run prints the plan and sends nothing; the budget cuts it', async () => {
    const { origin, requests } = await serve(createVulnerableApp());
    const { code, stdout } = await run(
      'probe',
      origin,
      '--app',
      `${fixtures}/vulnerable-app.ts`,
      '--dry-run',
      '--max-requests',
      '12',
    );
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.slice(0, 5)).toEqual([
      `GET ${origin}/download  (baseline)`,
      `GET ${origin}/preview/koa-mtls-probe  (baseline)`,
      `GET ${origin}/debug/hosts  (baseline)`,
      `GET ${origin}/status  (baseline)`,
      `GET ${origin}/reports/koa-mtls-probe  (baseline)`,
    ]);
    expect(lines[5]).toBe(`GET ${origin}/download?name=%2Fetc%2Fpasswd  (absolute → /etc/passwd)`);
    expect(lines.at(-1)).toMatch(
      /^12 request\(s\) planned, \d+ more cut by --max-requests; nothing sent \(--dry-run\)$/,
    );
    expect(requests()).toBe(0);
  });

  it.each([
    [['http://127.0.0.1:1', '--app', 'x.ts'], /must be an https:\/\/ origin/],
    [['https://127.0.0.1:1/api', '--app', 'x.ts'], /origin only/],
    [['https://user@127.0.0.1:1', '--app', 'x.ts'], /origin only/],
    [['https://127.0.0.1:1'], /needs --app <module>, --openapi <file>, or both/],
    [
      ['https://127.0.0.1:1', '--app', `${fixtures}/vulnerable-app.ts`, '--rate', '0'],
      /--rate must be a number above 0/,
    ],
    [['https://127.0.0.1:1', '--app', `${fixtures}/vulnerable-app.ts`, '--fail-on', 'sometimes'], /--fail-on must be/],
    [['https://127.0.0.1:1', '--app', `${fixtures}/vulnerable-app.ts`, '--json', '--sarif'], /exclude each other/],
    [['https://127.0.0.1:1', '--app', `${fixtures}/vulnerable-app.ts`], /--cert <file> is required/],
  ])('refuses %j with exit code 2', async (argv, message) => {
    const { code, stderr, stdout } = await run('probe', ...argv);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(message);
  });
});
