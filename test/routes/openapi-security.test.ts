import Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Context } from 'koa';
import { afterAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../../src/authz/require-peer.js';
import { InvalidOptionError } from '../../src/errors.js';
import {
  type KoaMtlsOperationExtension,
  type OpenApiDocument,
  openapiSecurity,
} from '../../src/routes/openapi-security.js';
import { sandboxPath } from '../../src/sandbox/middleware.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { closeSandboxes, createApp, filesRoot } from './fixtures/service.js';

afterAll(closeSandboxes);

async function validate(document: unknown): Promise<{ valid: boolean; errors?: unknown }> {
  const result = await new Validator().validate(document as Parameters<Validator['validate']>[0]);
  return { valid: result.valid, ...(result.valid ? {} : { errors: result.errors }) };
}

interface Operation {
  readonly operationId?: string;
  readonly security: unknown;
  readonly responses: Record<string, unknown>;
  readonly 'x-koa-mtls': KoaMtlsOperationExtension;
}

function operation(document: OpenApiDocument, path: string, method: string): Operation {
  return document.paths[path]?.[method] as Operation;
}

const ok = (ctx: Context): void => {
  ctx.body = 'ok';
};

function inventoryRouter(): Router {
  const items = new Router({ prefix: '/items' });
  items.get('/:id', ok);
  items.put('/:id', requirePeer({ trustDomain: 'shop.example' }), ok);
  const router = new Router({ prefix: '/v1' });
  router.get('/health', ok);
  router.use('', requirePeer({ trustDomain: 'example.org' }));
  router.use('/shop', items.routes());
  router.get('/export{.:format}', ok);
  router.all('/any', ok);
  router.register('/dav', ['PROPFIND'], ok);
  router.get(/^\/legacy/, ok);
  return router;
}

describe('openapiSecurity', () => {
  describe('when no document is given', () => {
    it('returns a document that validates against the OpenAPI 3.1 schema', async () => {
      const document = openapiSecurity(inventoryRouter());
      expect(document.openapi).toBe('3.1.0');
      expect(await validate(document)).toEqual({ valid: true });
    });

    it('declares a mutualTLS scheme and requires it on every operation', () => {
      const document = openapiSecurity(inventoryRouter());
      expect(document.components.securitySchemes).toEqual({
        mutualTLS: { type: 'mutualTLS', description: expect.stringContaining('x-koa-mtls') },
      });
      const operations = Object.values(document.paths).flatMap((item) =>
        Object.entries(item).filter(([key]) => key !== 'parameters'),
      );
      expect(operations.length).toBeGreaterThan(8);
      for (const [, operation] of operations) {
        expect((operation as { security: unknown }).security).toEqual([{ mutualTLS: [] }]);
      }
    });

    it('converts Koa paths to templates with required path parameters', () => {
      const { paths } = openapiSecurity(inventoryRouter());
      expect(Object.keys(paths)).toEqual([
        '/v1/health',
        '/v1/shop/items/{id}',
        '/v1/export',
        '/v1/export.{format}',
        '/v1/any',
      ]);
      expect(paths['/v1/shop/items/{id}']?.parameters).toEqual([
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
      ]);
      expect(Object.keys(paths['/v1/any'] ?? {})).toEqual([
        'get',
        'put',
        'post',
        'delete',
        'options',
        'head',
        'patch',
        'trace',
      ]);
    });

    it('describes the policies and flags of each operation in x-koa-mtls, with 401/403 when guarded', () => {
      const { paths } = openapiSecurity(inventoryRouter());
      expect(paths['/v1/shop/items/{id}']?.put).toEqual({
        security: [{ mutualTLS: [] }],
        responses: {
          '401': { description: expect.stringContaining('ERR_MTLS_PEER_REQUIRED') },
          '403': { description: expect.stringContaining('ERR_MTLS_PEER_FORBIDDEN') },
        },
        'x-koa-mtls': {
          guarded: true,
          anonymous: false,
          route: '/v1/shop/items/:id',
          policies: [
            {
              policy: 'trustDomain in [example.org]',
              mode: 'enforce',
              scope: 'router',
              allowProxyClaimed: false,
              revocation: false,
            },
            {
              policy: 'trustDomain in [shop.example]',
              mode: 'enforce',
              scope: 'route',
              allowProxyClaimed: false,
              revocation: false,
            },
          ],
          partialPolicies: [],
          sandboxes: [],
          flags: [],
        },
      });
      expect(paths['/v1/health']?.get).toEqual({
        security: [{ mutualTLS: [] }],
        'x-koa-mtls': {
          guarded: false,
          anonymous: false,
          route: '/v1/health',
          policies: [],
          partialPolicies: [],
          sandboxes: [],
          flags: ['no-policy'],
        },
      });
    });

    it('lists what OpenAPI cannot express (RegExp paths, non-OpenAPI methods) at document level', () => {
      expect(openapiSecurity(inventoryRouter())['x-koa-mtls']).toEqual({
        unlisted: [
          { methods: ['PROPFIND'], path: '/v1/dav' },
          { methods: ['GET'], path: '^\\/legacy' },
        ],
      });
    });
  });

  describe('when routes are sandboxed', () => {
    it('leaves the sandbox root out unless asked, and adds 400/404', async () => {
      const files = await createSandbox(filesRoot);
      const router = new Router();
      router.get(
        '/files/:name',
        requirePeer({ anyPeer: true }),
        sandboxPath({ sandbox: files, from: (ctx) => ctx.params.name }),
        ok,
      );
      const published = operation(openapiSecurity(router), '/files/{name}', 'get');
      expect(Object.keys(published.responses).sort()).toEqual(['400', '401', '403', '404']);
      expect(published['x-koa-mtls'].sandboxes).toEqual([
        { symlinks: 'in-root', mode: 'fd-walk', allow: null, deny: [], scope: 'route' },
      ]);
      expect(JSON.stringify(openapiSecurity(router))).not.toContain(filesRoot);
      const internal = operation(openapiSecurity(router, { includeSandboxRoots: true }), '/files/{name}', 'get');
      expect(internal['x-koa-mtls'].sandboxes[0]?.root).toBe(filesRoot);
      await files.close();
    });

    it('validates for the example service (a Koa app)', async () => {
      expect(await validate(openapiSecurity(await createApp()))).toEqual({ valid: true });
    });
  });

  describe('when a document is given', () => {
    const base = () => ({
      openapi: '3.1.0',
      info: { title: 'Shop', version: '1.2.3' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      paths: {
        '/v1/shop/items/{id}': {
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          get: {
            operationId: 'getItem',
            security: [{ bearer: [] }, {}],
            responses: { '200': { description: 'The item' } },
          },
        },
      },
    });

    it('merges into a copy and never mutates the document', async () => {
      const document = base();
      const before = structuredClone(document);
      const merged = openapiSecurity(inventoryRouter(), { document });
      expect(document).toEqual(before);
      expect(merged.info).toEqual({ title: 'Shop', version: '1.2.3' });
      expect(await validate(merged)).toEqual({ valid: true });
    });

    it('keeps existing operations and adds the scheme to each security alternative', () => {
      const merged = openapiSecurity(inventoryRouter(), { document: base() });
      expect(merged.paths['/v1/shop/items/{id}']?.parameters).toEqual([
        { name: 'id', in: 'path', required: true, schema: { type: 'integer' } },
      ]);
      const get = operation(merged, '/v1/shop/items/{id}', 'get');
      expect(get.operationId).toBe('getItem');
      expect(get.security).toEqual([{ bearer: [], mutualTLS: [] }, { mutualTLS: [] }]);
      expect(Object.keys(get.responses)).toEqual(['200', '401', '403']);
      expect(merged.components.securitySchemes).toEqual({
        bearer: { type: 'http', scheme: 'bearer' },
        mutualTLS: expect.objectContaining({ type: 'mutualTLS' }),
      });
    });

    it('uses a custom scheme name', () => {
      const merged = openapiSecurity(inventoryRouter(), { schemeName: 'clientCert' });
      expect(Object.keys(merged.components.securitySchemes)).toEqual(['clientCert']);
      expect(operation(merged, '/v1/health', 'get').security).toEqual([{ clientCert: [] }]);
    });
  });

  describe('when options are wrong', () => {
    it.each([
      { name: 'an unknown option', options: { documents: {} }, path: 'options.documents' },
      { name: 'an OpenAPI 3.0 document', options: { document: { openapi: '3.0.3' } }, path: 'options.document' },
      {
        name: 'a document that is not data',
        options: { document: { openapi: '3.1.0', x: () => 1 } },
        path: 'options.document',
      },
      {
        name: 'a scheme name already used by another scheme',
        options: { document: { openapi: '3.1.0', components: { securitySchemes: { mutualTLS: { type: 'http' } } } } },
        path: 'options.document.components.securitySchemes.mutualTLS',
      },
      { name: 'an empty scheme name', options: { schemeName: '' }, path: 'options.schemeName' },
      {
        name: 'a non-boolean includeSandboxRoots',
        options: { includeSandboxRoots: 'yes' },
        path: 'options.includeSandboxRoots',
      },
    ])('throws InvalidOptionError for $name', ({ options, path }) => {
      const call = () => openapiSecurity(inventoryRouter(), options as never);
      expect(call).toThrow(InvalidOptionError);
      expect(call).toThrow(expect.objectContaining({ path }));
    });
  });
});
