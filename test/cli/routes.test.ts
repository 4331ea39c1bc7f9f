import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/captured-io.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { closeSandboxes, filesRoot } from '../routes/fixtures/service.js';

const fixtures = 'test/routes/fixtures';
const { path: scratch, dispose: removeScratch } = temporaryDirectory('routes');
afterAll(async () => {
  removeScratch();
  await closeSandboxes();
});

const run = (...argv: string[]) => runCli(argv);

describe('koa-mtls routes', () => {
  describe('when the module exports an app factory (createApp)', () => {
    it('prints the inventory as a table and exits 0', async () => {
      const { code, stdout, stderr } = await run('routes', `${fixtures}/service.ts`);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const lines = stdout.split('\n');
      expect(lines[0]).toMatch(/^METHOD {2}PATH +POLICY +SANDBOX +FLAGS$/);
      expect(lines.slice(1, 8).map((line) => line.split(/ {2,}/))).toEqual([
        ['GET', '/healthz', '-', '-', 'no-policy'],
        ['GET', '/v1/items/:id', 'trustDomain in [example.org] (route)', '-', '-'],
        ['POST', '/v1/items', 'trustDomain in [example.org] [report] (route)', '-', 'report-only'],
        [
          'GET',
          '/v1/reports/:name',
          'spiffe in [spiffe://example.org/ns/reports/sa/*] (route)',
          `${filesRoot} (symlinks: none)`,
          '-',
        ],
        ['GET', '/v1/files/:name', '-', `${filesRoot} (symlinks: none)`, 'no-policy,sandbox-without-policy'],
        // A path-less admin.use(guard), mounted under /v1/admin: GET /V1/ADMIN/users skips it (CWE-178).
        [
          'GET',
          '/v1/admin/users',
          'spiffe in [spiffe://example.org/ns/ops/sa/*] (router, partial)',
          '-',
          'no-policy,partial-policy',
        ],
        [
          'DELETE',
          '/v1/admin/users/:id',
          'spiffe in [spiffe://example.org/ns/ops/sa/*] (router, partial)',
          '-',
          'no-policy,partial-policy',
        ],
      ]);
      expect(lines.slice(8)).toEqual(['', '7 routes, 5 without an enforcing policy', '']);
    });

    it('fails with exit code 1 under --fail-on-unguarded and names the unguarded routes', async () => {
      const { code, stderr } = await run('routes', `${fixtures}/service.ts`, '--fail-on-unguarded');
      expect(code).toBe(1);
      expect(stderr).toBe(
        'koa-mtls routes: 5 route(s) without an enforcing policy: GET /healthz, POST /v1/items, GET /v1/files/:name, ' +
          'GET /v1/admin/users, DELETE /v1/admin/users/:id\n',
      );
    });

    it('prints JSON with --json', async () => {
      const { code, stdout } = await run('routes', `${fixtures}/service.ts`, '--json');
      expect(code).toBe(0);
      const document = JSON.parse(stdout) as { schema: string; routes: { path: string; guarded: boolean }[] };
      expect(document.schema).toBe('koa-mtls/routes@1');
      expect(document.routes.filter((route) => !route.guarded).map((route) => route.path)).toEqual([
        '/healthz',
        '/v1/items',
        '/v1/files/:name',
        '/v1/admin/users',
        '/v1/admin/users/:id',
      ]);
    });

    it('prints a valid OpenAPI 3.1 document with --openapi, without sandbox roots', async () => {
      const { code, stdout } = await run('routes', `${fixtures}/service.ts`, '--openapi');
      expect(code).toBe(0);
      expect(stdout).not.toContain(filesRoot);
      const result = await new Validator().validate(JSON.parse(stdout) as Parameters<Validator['validate']>[0]);
      expect(result.valid).toBe(true);
    });

    it('merges into --document and includes roots with --include-sandbox-roots', async () => {
      const base = join(scratch, 'base.json');
      writeFileSync(base, JSON.stringify({ openapi: '3.1.1', info: { title: 'Shop', version: '2' }, paths: {} }));
      const { code, stdout } = await run(
        'routes',
        `${fixtures}/service.ts`,
        '--openapi',
        '--document',
        base,
        '--include-sandbox-roots',
      );
      expect(code).toBe(0);
      const merged = JSON.parse(stdout) as { info: unknown };
      expect(merged.info).toEqual({ title: 'Shop', version: '2' });
      expect(stdout).toContain(filesRoot);
    });
  });

  describe('when the module exports a named router', () => {
    it('exits 0 under --fail-on-unguarded when every route is guarded', async () => {
      const { code, stdout, stderr } = await run('routes', `${fixtures}/guarded.ts`, '--fail-on-unguarded');
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toContain('/api/items/:id');
      expect(stdout).toContain('2 routes, 0 without an enforcing policy');
    });
  });

  describe('when the module declares anonymous routes (clientCertificate: optional)', () => {
    it('shows them as anonymous and counts them as declared under --fail-on-unguarded', async () => {
      const { code, stdout, stderr } = await run('routes', `${fixtures}/anonymous.ts`, '--fail-on-unguarded');
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toMatch(/GET\s+\/healthz\s+anonymous\s+-\s+anonymous/);
      expect(stdout).toContain('2 routes, 0 without an enforcing policy, 1 declared anonymous');
    });

    it('fails on any other route a client without a certificate could reach, naming only it', async () => {
      const { code, stderr } = await run('routes', `${fixtures}/anonymous-forgotten.ts`, '--fail-on-unguarded');
      expect(code).toBe(1);
      expect(stderr).toBe('koa-mtls routes: 1 route(s) without an enforcing policy: GET /debug\n');
    });
  });

  describe('when the module is CommonJS with a createRouter() factory', () => {
    it('reads guards made by another copy of koa-mtls (registered metadata symbols)', async () => {
      const { code, stdout } = await run('routes', `${fixtures}/legacy.cjs`, '--json', '--fail-on-unguarded');
      expect(code).toBe(1);
      const { routes } = JSON.parse(stdout) as { routes: { path: string; guarded: boolean; policies: unknown[] }[] };
      expect(routes.map((route) => [route.path, route.guarded])).toEqual([
        ['/guarded', true],
        ['/open', false],
      ]);
      expect(routes[0]?.policies).toEqual([expect.objectContaining({ policy: 'trustDomain in [legacy.example]' })]);
    });
  });

  describe('when the module exports a router without routes (default export)', () => {
    it('says so, exits 0, and exits 1 under --fail-on-unguarded', async () => {
      const listed = await run('routes', `${fixtures}/empty-router.mjs`);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain('0 routes, 0 without an enforcing policy');
      expect(listed.stderr).toBe(`koa-mtls routes: no routes found in ${fixtures}/empty-router.mjs\n`);
      expect((await run('routes', `${fixtures}/empty-router.mjs`, '--fail-on-unguarded')).code).toBe(1);
    });
  });

  describe('when the command line or the module is wrong', () => {
    it.each([
      { name: 'no module', argv: [], message: 'expects exactly one <module>' },
      { name: 'two modules', argv: ['a.js', 'b.js'], message: 'expects exactly one <module>' },
      { name: 'an unknown flag', argv: [`${fixtures}/guarded.ts`, '--yaml'], message: "Unknown option '--yaml'" },
      {
        name: '--json with --openapi',
        argv: [`${fixtures}/guarded.ts`, '--json', '--openapi'],
        message: '--json and --openapi exclude each other',
      },
      {
        name: '--document without --openapi',
        argv: [`${fixtures}/guarded.ts`, '--document', 'x.json'],
        message: '--document and --include-sandbox-roots need --openapi',
      },
      { name: 'a missing module', argv: [`${fixtures}/missing.js`], message: 'missing.js: no such file' },
      { name: 'a directory', argv: [fixtures], message: 'fixtures: no such file' },
      {
        name: 'a module that throws while loading',
        argv: [`${fixtures}/throws.mjs`],
        message: 'cannot load (DATABASE_URL is not set)',
      },
      {
        name: 'a module without a router',
        argv: [`${fixtures}/no-router.mjs`],
        message: 'createApp() returned neither',
      },
      {
        name: 'an unreadable --document',
        argv: [`${fixtures}/guarded.ts`, '--openapi', '--document', 'nope.json'],
        message: '--document nope.json: ENOENT',
      },
    ])('exits 2 for $name, printing nothing on stdout', async ({ argv, message }) => {
      const { code, stdout, stderr } = await run('routes', ...argv);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^koa-mtls routes: .+\n$/);
      expect(stderr).toContain(message);
    });

    it('exits 2 for an OpenAPI 3.0 --document', async () => {
      const base = join(scratch, 'old.json');
      writeFileSync(base, JSON.stringify({ openapi: '3.0.3', info: { title: 'Old', version: '1' }, paths: {} }));
      const { code, stderr } = await run('routes', `${fixtures}/guarded.ts`, '--openapi', '--document', base);
      expect(code).toBe(2);
      expect(stderr).toContain('"options.document" must be an OpenAPI 3.1 document');
    });

    it('prints its help with --help and exits 0', async () => {
      const { code, stdout } = await run('routes', '--help');
      expect(code).toBe(0);
      expect(stdout).toContain('Usage: koa-mtls routes <module> [options]');
    });

    it('is listed by koa-mtls --help', async () => {
      expect((await run('--help')).stdout).toMatch(/\n {2}routes +list routes/);
    });
  });
});
