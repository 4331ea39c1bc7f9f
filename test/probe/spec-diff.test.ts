/**
 * `koa-mtls routes <module> --openapi <spec>`: the mutualTLS security a document declares against the router's real
 * guards, on the routes fixture (guarded, report-only, partial and unguarded routes).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/captured-io.js';
import { temporaryDirectory, writeFile } from '../helpers/temporary-directory.js';
import { closeSandboxes } from '../routes/fixtures/service.js';

const service = 'test/routes/fixtures/service.ts';
const work = temporaryDirectory('spec-diff');
afterAll(async () => {
  work.dispose();
  await closeSandboxes();
});

const run = (...argv: string[]) => runCli(argv);

const SPEC = `openapi: 3.1.0
info: { title: service, version: "1" }
security: [{ mtls: [] }]
components:
  securitySchemes:
    mtls: { type: mutualTLS }
    key: { type: apiKey, in: header, name: x-key }
paths:
  /healthz:
    get: { security: [] }                     # anonymous, and the router has no policy: agree
  /v1/items/{itemId}:
    get: {}                                   # inherits mutualTLS, router enforces (names differ)
  /v1/items:
    post: {}                                  # declared, but the router's policy only reports
  /v1/reports/{name}:
    get: { security: [{ key: [] }] }          # no mutualTLS declared, router enforces
  /v1/files/{name}:
    get: { security: [{ mtls: [] }, {}] }     # {} makes it optional: agrees with no policy
  /v1/admin/users:
    get: {}                                   # declared, router guard is partial
  /v1/legacy:
    get: {}                                   # not in the router
`;

describe('koa-mtls routes <module> --openapi <spec>', () => {
  it('reports each operation whose declared security and real guard differ, and operations on one side only', async () => {
    const spec = writeFile(work.path, 'service.yaml', SPEC);
    const { code, stdout, stderr } = await run('routes', service, '--openapi', spec, '--json');
    expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
    expect(JSON.parse(stdout)).toEqual({
      schema: 'koa-mtls/routes-openapi-diff@1',
      differences: [
        { kind: 'declared-not-enforced', method: 'GET', path: '/v1/admin/users' },
        { kind: 'declared-not-enforced', method: 'POST', path: '/v1/items' },
        { kind: 'enforced-not-declared', method: 'GET', path: '/v1/reports/{name}' },
        { kind: 'only-in-document', method: 'GET', path: '/v1/legacy' },
        { kind: 'only-in-router', method: 'DELETE', path: '/v1/admin/users/{id}' },
      ],
    });
  });

  it('prints a table, with the spec before or after the module', async () => {
    const spec = writeFile(work.path, 'service.yaml', SPEC);
    const { code, stdout } = await run('routes', '--openapi', spec, service);
    expect(code).toBe(1);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^METHOD +PATH +DIFFERENCE$/);
    expect(lines[1]).toMatch(/^GET +\/v1\/admin\/users +document requires mutualTLS, router has no enforcing policy$/);
    expect(lines.at(-2)).toBe(`5 difference(s) between ${spec} and the router`);
  });

  it('exits 0 when the document and the router agree (a JSON document)', async () => {
    const document = {
      openapi: '3.0.3',
      info: { title: 'agree', version: '1' },
      components: { securitySchemes: { mtls: { type: 'mutualTLS' } } },
      paths: {
        '/healthz': { get: {} },
        '/v1/items/{id}': { get: { security: [{ mtls: [] }] } },
        '/v1/items': { post: {} },
        '/v1/reports/{name}': { get: { security: [{ mtls: [] }] } },
        '/v1/files/{name}': { get: {} },
        '/v1/admin/users': { get: {} },
        '/v1/admin/users/{id}': { delete: {} },
      },
    };
    const spec = writeFile(work.path, 'agree.json', JSON.stringify(document));
    const { code, stdout } = await run('routes', service, '--openapi', spec);
    expect({ code, stdout }).toEqual({ code: 0, stdout: `No differences between ${spec} and the router.\n` });
  });

  it.each([
    ['swagger: "2.0"\npaths: {}\n', /not an OpenAPI 3\.x document/],
    ['openapi: 3.1.0\n', /has no "paths" object/],
    ['openapi: 3.1.0\npaths: [unclosed\n', /not JSON or YAML/],
    // An alias bomb fails on the parser's alias budget instead of expanding.
    [
      `openapi: 3.1.0\npaths: {}\na: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from(
        { length: 12 },
        (_, i) =>
          `l${i}: &l${i} [${Array(10)
            .fill(i === 0 ? '*a' : `*l${i - 1}`)
            .join(', ')}]`,
      ).join('\n')}\n`,
      /not JSON or YAML/,
    ],
  ])('refuses a document that is not OpenAPI 3.x (%#) with exit code 2', async (text, message) => {
    const spec = writeFile(work.path, 'bad.yaml', text);
    const { code, stderr } = await run('routes', service, '--openapi', spec);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('still prints a generated document with a bare --openapi', async () => {
    const { code, stdout } = await run('routes', service, '--openapi');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).openapi).toBe('3.1.0');
  });
});
