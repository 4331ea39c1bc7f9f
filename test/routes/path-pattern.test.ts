import { describe, expect, it } from 'vitest';
import { openApiTemplate, patternVariants, samplePaths } from '../../src/routes/path-pattern.js';

function templates(path: string): string[] | undefined {
  return patternVariants(path)?.map((variant) => openApiTemplate(variant).path);
}

describe('router path patterns', () => {
  describe('when converted to OpenAPI path templates', () => {
    it.each([
      { koa: '/', openapi: ['/'] },
      { koa: '/items/:id', openapi: ['/items/{id}'] },
      { koa: '/orgs/:org/repos/:repo', openapi: ['/orgs/{org}/repos/{repo}'] },
      { koa: '/files/*path', openapi: ['/files/{path}'] },
      { koa: '/report{.:format}', openapi: ['/report', '/report.{format}'] },
      { koa: '/a{/:b{/:c}}', openapi: ['/a', '/a/{b}', '/a/{b}/{c}'] },
      { koa: '/time/10\\:30', openapi: ['/time/10:30'] },
      { koa: '/q/:"user id"', openapi: ['/q/{user id}'] },
      { koa: '/user/:ünï', openapi: ['/user/{ünï}'] },
      { koa: 'relative', openapi: ['/relative'] },
    ])('$koa → $openapi', ({ koa, openapi }) => {
      expect(templates(koa)).toEqual(openapi);
    });

    it('lists the path parameters of each template', () => {
      const [variant] = patternVariants('/orgs/:org/files/*rest') ?? [];
      expect(variant && openApiTemplate(variant)).toEqual({
        path: '/orgs/{org}/files/{rest}',
        params: ['org', 'rest'],
      });
    });
  });

  describe('when a pattern is one the router would refuse', () => {
    it.each(['/a{/:b', '/a}', '/x/:', '/x/*', '/x/:1abc', '/x/:""'])('%s is opaque (undefined)', (path) => {
      expect(patternVariants(path)).toBeUndefined();
    });
  });

  describe('when optional groups multiply', () => {
    it('bounds the expansion to 16 variants', () => {
      expect(patternVariants('/x{/a}{/b}{/c}{/d}{/e}{/f}')).toHaveLength(16);
    });
  });

  describe('when sampled', () => {
    it('gives two unlike values per parameter and per variant, wildcards spanning segments', () => {
      expect(samplePaths(patternVariants('/u/:id{/*rest}') ?? [])).toEqual([
        '/u/k0a',
        '/u/z9y',
        '/u/k0a/k0a/k0b',
        '/u/z9y/z9y',
      ]);
    });
  });
});
