import { createServer, type Server } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../../src/authz/require-peer.js';
import { routeMetadataOf } from '../../src/routes/route-metadata.js';
import { close, listen } from '../helpers/listen.js';
import { makePeer } from './peer-fixture.js';

const peers = {
  payments: makePeer({ seed: 'payments', spiffeId: 'spiffe://example.org/ns/payments/sa/api' }),
  reports: makePeer({ seed: 'reports', spiffeId: 'spiffe://example.org/ns/reports/sa/api' }),
};

const router = new Router();
router.get('/payments', requirePeer({ spiffe: 'spiffe://example.org/ns/payments/sa/*' }), (ctx) => {
  ctx.body = 'payments';
});
router.get('/reports', requirePeer({ trustDomain: 'example.org' }, { mode: 'report' }), (ctx) => {
  ctx.body = 'reports';
});
router.get('/health', (ctx) => {
  ctx.body = 'ok';
});

let server: Server;
let base: string;
beforeAll(async () => {
  const app = new Koa();
  app.use(async (ctx, next) => {
    const name = ctx.get('x-test-peer') as keyof typeof peers | '';
    if (name !== '') ctx.state.peer = peers[name];
    await next();
  });
  app.use(router.routes());
  server = createServer(app.callback());
  base = `http://127.0.0.1:${await listen(server)}`;
});
afterAll(async () => {
  await close(server);
});

async function get(path: string, peer?: string): Promise<[number, string]> {
  const response = await fetch(`${base}${path}`, { headers: peer === undefined ? {} : { 'x-test-peer': peer } });
  return [response.status, await response.text()];
}

describe('per-route policies with @koa/router', () => {
  it.each([
    { path: '/payments', peer: 'payments', expected: [200, 'payments'] },
    { path: '/payments', peer: 'reports', expected: [403, 'Forbidden'] },
    { path: '/payments', peer: undefined, expected: [401, 'Client certificate required'] },
    { path: '/reports', peer: 'payments', expected: [200, 'reports'] },
    { path: '/health', peer: undefined, expected: [200, 'ok'] },
  ])('GET $path as $peer → $expected', async ({ path, peer, expected }) => {
    expect(await get(path, peer)).toEqual(expected);
  });

  it('lets a route table find the policy guarding each route (for describeRoutes)', () => {
    const guarded = router.stack.map((layer) => ({
      path: layer.path,
      policy: layer.stack.map((mw) => routeMetadataOf(mw, 'requirePeer')).find((metadata) => metadata !== undefined)
        ?.description,
    }));
    expect(guarded).toEqual([
      { path: '/payments', policy: 'spiffe in [spiffe://example.org/ns/payments/sa/*]' },
      { path: '/reports', policy: 'trustDomain in [example.org]' },
      { path: '/health', policy: undefined },
    ]);
  });
});
