/**
 * `describeRoutes` shows `allowAnonymous()` routes exactly as `peerCertificate` honours them: the marker counts in
 * the route's own middleware list, never in a router-level `use()`.
 */
import Router from '@koa/router';
import { describe, expect, it } from 'vitest';
import { allowAnonymous } from '../../src/anonymous/index.js';
import { requirePeer } from '../../src/authz/require-peer.js';
import { describeRoutes } from '../../src/routes/describe-routes.js';

const ok = () => {};

function summary(router: Router) {
  return describeRoutes(router).map(({ path, anonymous, guarded, flags }) => ({ path, anonymous, guarded, flags }));
}

describe('when routes are declared anonymous', () => {
  it('marks the route and replaces no-policy by anonymous', () => {
    const router = new Router();
    router.get('/healthz', allowAnonymous(), ok);
    router.get('/orders', requirePeer({ trustDomain: 'example.org' }), ok);
    router.get('/debug', ok);
    expect(summary(router)).toEqual([
      { path: '/healthz', anonymous: true, guarded: false, flags: ['anonymous'] },
      { path: '/orders', anonymous: false, guarded: true, flags: [] },
      { path: '/debug', anonymous: false, guarded: false, flags: ['no-policy'] },
    ]);
  });

  it('does not count a marker in router.use(): peerCertificate would not honour it either', () => {
    const router = new Router();
    router.use(allowAnonymous());
    router.get('/status', ok);
    expect(summary(router)).toEqual([{ path: '/status', anonymous: false, guarded: false, flags: ['no-policy'] }]);
  });

  it('keeps both facts for a route that is anonymous and guarded (the policy still answers 401)', () => {
    const router = new Router();
    router.get('/both', allowAnonymous(), requirePeer({ trustDomain: 'example.org' }), ok);
    expect(summary(router)).toEqual([{ path: '/both', anonymous: true, guarded: true, flags: ['anonymous'] }]);
  });

  it('sees markers through prefixes and nested routers', () => {
    const inner = new Router();
    inner.get('/live', allowAnonymous(), ok);
    const router = new Router({ prefix: '/v1' });
    router.use('/health', inner.routes());
    expect(summary(router)).toEqual([
      { path: '/v1/health/live', anonymous: true, guarded: false, flags: ['anonymous'] },
    ]);
  });
});
