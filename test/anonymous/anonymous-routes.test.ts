/**
 * Which requests may go without a certificate: the router's own matching decides, and every route layer that
 * would run must carry `allowAnonymous()`; anything else, an unknown path included, is not anonymous.
 */
import Router from '@koa/router';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { allowAnonymous } from '../../src/anonymous/allow-anonymous.js';
import { compileAnonymousRoutes } from '../../src/anonymous/anonymous-routes.js';
import { requirePeer } from '../../src/authz/require-peer.js';
import { InvalidOptionError } from '../../src/errors.js';

const ok = () => {};

function routers() {
  const inner = new Router();
  inner.get('/live', allowAnonymous(), ok);
  const router = new Router({ prefix: '/v1' });
  router.get('/healthz', allowAnonymous(), ok);
  router.get('/items/:id', allowAnonymous(), ok);
  router.get('/items/secret', requirePeer({ trustDomain: 'example.org' }), ok);
  router.post('/healthz', ok);
  router.use('/health', inner.routes());
  const hosted = new Router({ host: 'public.example' });
  hosted.get('/status', allowAnonymous(), ok);
  return { router, hosted };
}

describe('when a request is matched against anonymous routes', () => {
  const { router, hosted } = routers();
  const anonymous = compileAnonymousRoutes([router, hosted], 'anonymousRoutes');
  it.each<[string, string, string, boolean]>([
    ['GET', '/v1/healthz', 'localhost', true],
    ['HEAD', '/v1/healthz', 'localhost', true],
    ['GET', '/V1/HEALTHZ', 'localhost', true],
    ['GET', '/v1/healthz/', 'localhost', true],
    ['GET', '/v1/health/live', 'localhost', true],
    ['GET', '/v1/items/42', 'localhost', true],
    // Two routes match and one of them is not declared: the request would run both chains.
    ['GET', '/v1/items/secret', 'localhost', false],
    ['POST', '/v1/healthz', 'localhost', false],
    ['GET', '/healthz', 'localhost', false],
    ['GET', '/v1/unknown', 'localhost', false],
    ['GET', '/status', 'public.example', true],
    ['GET', '/status', 'other.example', false],
  ])('%s %s (host %s) is anonymous: %s', (method, path, host, expected) => {
    expect(anonymous(method, path, host)).toBe(expected);
  });

  it('finds the routers of an app when asked, so routes mounted later count', () => {
    const app = new Koa();
    const matcher = compileAnonymousRoutes(app, 'anonymousRoutes');
    expect(matcher('GET', '/v1/healthz', 'localhost')).toBe(false);
    app.use(router.routes());
    expect(matcher('GET', '/v1/healthz', 'localhost')).toBe(true);
  });

  it.each([[undefined], [[]], [{}], ['router'], [[router, 42]]])('refuses %j at startup', (value) => {
    expect(() => compileAnonymousRoutes(value, 'anonymousRoutes')).toThrow(InvalidOptionError);
  });
});
