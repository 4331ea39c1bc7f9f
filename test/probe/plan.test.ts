/**
 * The probe set and the plan: bounded, deduplicated, read-only by default, encoded for transport, and confined to
 * paths on the origin.
 */
import { describe, expect, it } from 'vitest';
import { createSender, isLoopbackOrigin, parseOrigin } from '../../src/probe/client.js';
import { documentOperations, parseOpenApi } from '../../src/probe/openapi-document.js';
import { mergeOperations, operationsFromDocument, type ProbeOperation } from '../../src/probe/operations.js';
import { HOST_TARGETS, payloadsFor } from '../../src/probe/payloads.js';
import { buildPlan } from '../../src/probe/plan.js';

function operation(method: string, path: string, slots: ProbeOperation['slots'] = []): ProbeOperation {
  return { method, path, slots, guard: undefined, sources: ['openapi'] };
}

describe('payloadsFor', () => {
  it('writes every host target in every form, once', () => {
    const payloads = payloadsFor('query');
    expect(payloads).toHaveLength(HOST_TARGETS.length * 5);
    expect(new Set(payloads.map((payload) => payload.value)).size).toBe(payloads.length);
    expect(payloads.slice(0, 3).map((payload) => payload.value)).toEqual([
      '/etc/passwd',
      '/etc/hosts',
      '/etc/hostname',
    ]);
    expect(payloads.find((payload) => payload.form === 'traversal')?.value).toBe(`${'../'.repeat(10)}etc/passwd`);
    expect(payloads.find((payload) => payload.form === 'double-encoded')?.value).toBe(
      `${'%2e%2e%2f'.repeat(10)}etc%2fpasswd`,
    );
  });

  it('keeps header values to Latin-1 (no fullwidth form)', () => {
    const payloads = payloadsFor('header');
    expect(payloads.some((payload) => payload.form === 'fullwidth')).toBe(false);
    expect(payloads.every((payload) => /^[\x20-\x7e]+$/.test(payload.value))).toBe(true);
  });

  it('names every host target the issue asks for', () => {
    expect(HOST_TARGETS.map((target) => target.path)).toEqual(
      expect.arrayContaining([
        '/etc/hostname',
        '/etc/hosts',
        '/proc/self/environ',
        '/proc/1/root/etc/hostname',
        '/var/run/secrets/kubernetes.io/serviceaccount/token',
        '/var/run/docker.sock',
      ]),
    );
  });
});

describe('buildPlan', () => {
  const files = operation('GET', '/files/{name}', [{ in: 'path', name: 'name', guessed: false }]);

  it('sends a baseline first, then percent-encodes each payload into its input', () => {
    const plan = buildPlan([files], { unsafeMethods: false, maxRequests: 1000 });
    expect(plan.requests[0]).toMatchObject({ kind: 'baseline', path: '/files/koa-mtls-probe' });
    expect(plan.requests[1]).toMatchObject({ kind: 'payload', path: '/files/%2Fetc%2Fpasswd' });
    expect(plan.requests.every((request) => /^\/[\x21-\x7e]*$/.test(request.path))).toBe(true);
    expect(plan).toMatchObject({ truncated: 0, skipped: [] });
  });

  it('puts query and header payloads where they belong', () => {
    const download = operation('GET', '/download', [
      { in: 'query', name: 'file', guessed: false },
      { in: 'header', name: 'X-Template', guessed: false },
    ]);
    const plan = buildPlan([download], { unsafeMethods: false, maxRequests: 1000 });
    expect(plan.requests[1]).toMatchObject({ path: '/download?file=%2Fetc%2Fpasswd', headers: {} });
    expect(plan.requests[2]).toMatchObject({ path: '/download', headers: { 'x-template': '/etc/passwd' } });
  });

  it('leaves out methods that are not read-only unless --unsafe-methods', () => {
    const put = operation('PUT', '/files/{name}', files.slots);
    expect(buildPlan([files, put], { unsafeMethods: false, maxRequests: 1000 }).skipped).toEqual([
      { operation: 'PUT /files/{name}', reason: 'not read-only (use --unsafe-methods)' },
    ]);
    const unsafe = buildPlan([files, put], { unsafeMethods: true, maxRequests: 1000 });
    expect(unsafe.skipped).toEqual([]);
    expect(unsafe.requests.some((request) => request.method === 'PUT')).toBe(true);
  });

  it('cuts at the budget, spreading payloads over every input', () => {
    const other = operation('GET', '/other/{id}', [{ in: 'path', name: 'id', guessed: false }]);
    const plan = buildPlan([files, other], { unsafeMethods: false, maxRequests: 6 });
    expect(plan.requests.map((request) => request.path)).toEqual([
      '/files/koa-mtls-probe',
      '/other/koa-mtls-probe',
      '/files/%2Fetc%2Fpasswd',
      '/other/%2Fetc%2Fpasswd',
      '/files/%2Fetc%2Fhosts',
      '/other/%2Fetc%2Fhosts',
    ]);
    expect(plan.truncated).toBe(2 * 40 - 4);
  });

  it('deduplicates operations that differ only in parameter names, and requests that coincide', () => {
    const same = mergeOperations(
      [{ ...files, sources: ['app'] }],
      [operation('GET', '/files/{file}', [{ in: 'path', name: 'file', guessed: false }])],
      ['name'],
    );
    expect(same).toHaveLength(1);
    const plan = buildPlan(same, { unsafeMethods: false, maxRequests: 10_000 });
    const keys = plan.requests.map((request) => `${request.method} ${request.path} ${JSON.stringify(request.headers)}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('percent-encodes the literal text of a template from an untrusted document', () => {
    const odd = operation('GET', '/a b/\u001b[2J?x#y');
    expect(buildPlan([odd], { unsafeMethods: false, maxRequests: 10 }).requests[0]?.path).toBe(
      '/a%20b/%1B%5B2J%3Fx%23y',
    );
  });

  it('adds a case variant for a route a guard covers only in part (CWE-178)', () => {
    const partial = { ...operation('GET', '/v1/admin/users'), guard: { guarded: false, flags: ['partial-policy'] } };
    const plan = buildPlan([partial], { unsafeMethods: false, maxRequests: 10 });
    expect(plan.requests.map((request) => [request.kind, request.path])).toEqual([
      ['baseline', '/v1/admin/users'],
      ['case-variant', '/V1/ADMIN/USERS'],
    ]);
  });
});

describe('operations from an OpenAPI document', () => {
  const document = parseOpenApi(
    JSON.stringify({
      openapi: '3.1.0',
      paths: {
        '/files/{name}': {
          parameters: [{ $ref: '#/components/parameters/name' }],
          get: {
            parameters: [
              { name: 'format', in: 'query', schema: { type: 'string', enum: ['raw', 'html'] } },
              { name: 'template', in: 'query', schema: { type: 'string' } },
              { name: 'limit', in: 'query', schema: { type: 'integer' } },
              { name: 'X-Include-Path', in: 'header' },
              { name: 'session', in: 'cookie' },
            ],
          },
        },
      },
      components: { parameters: { name: { name: 'name', in: 'path', required: true, schema: { type: 'string' } } } },
    }),
    'doc',
  );

  it('puts document paths under the base path of the first server, variables at their defaults', () => {
    const versioned = parseOpenApi(
      JSON.stringify({
        openapi: '3.0.3',
        servers: [{ url: 'https://api.example.org/{version}/', variables: { version: { default: 'v2' } } }],
        paths: { '/items': { get: {} } },
      }),
      'doc',
    );
    expect(documentOperations(versioned).map((operation) => operation.path)).toEqual(['/v2/items']);
    expect(documentOperations(document).map((operation) => operation.path)).toEqual(['/files/{name}']);
  });

  it('keeps the inputs that could name a file: free path segments, file-like query and header names', () => {
    const [files] = operationsFromDocument(documentOperations(document));
    expect(files?.slots).toEqual([
      { in: 'path', name: 'name', guessed: false },
      { in: 'query', name: 'template', guessed: false },
      { in: 'header', name: 'X-Include-Path', guessed: false },
    ]);
  });
});

describe('the origin', () => {
  it.each([
    ['http://127.0.0.1:8443', /https/],
    ['https://127.0.0.1:8443/api', /origin only/],
    ['https://127.0.0.1:8443/?x=1', /origin only/],
    ['https://a:b@127.0.0.1:8443', /origin only/],
    ['not a url', /not a URL/],
  ])('refuses %s', (text, message) => {
    expect(() => parseOrigin(text)).toThrow(message);
  });

  it.each([
    ['https://localhost:1', true],
    ['https://127.0.0.2:1', true],
    ['https://[::1]:1', true],
    ['https://10.0.0.1:1', false],
    ['https://api.example.org', false],
  ])('knows whether %s is this machine (%s)', (text, local) => {
    expect(isLoopbackOrigin(parseOrigin(text))).toBe(local);
  });

  it.each(['https://elsewhere.example/x', '//elsewhere.example/x', 'x'])(
    'refuses to send %s, which is not a path on the origin',
    async (path) => {
      const { send, close } = createSender(
        parseOrigin('https://127.0.0.1:9'),
        { cert: '', key: '', ca: '' },
        { timeoutMs: 100, maxBodyBytes: 10 },
      );
      await expect(send('GET', path, {})).rejects.toThrow(/not a path on https:\/\/127\.0\.0\.1:9/);
      close();
    },
  );
});
