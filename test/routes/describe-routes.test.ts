import { createServer, type Server } from 'node:http';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../../src/authz/require-peer.js';
import { InvalidOptionError } from '../../src/errors.js';
import { describeRoutes, type RouteDescription } from '../../src/routes/describe-routes.js';
import { sandboxPath } from '../../src/sandbox/middleware.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { close, listen } from '../helpers/listen.js';
import { filesRoot } from './fixtures/service.js';

const handled: string[] = [];
function handler(ctx: Context): void {
  handled.push(`${ctx.method} ${ctx.path}`);
  ctx.body = 'handler';
}
const trusted = () => requirePeer({ trustDomain: 'example.org' });

// Prefixes, a nested router mounted under a path, router-level guards before and after routes.
const items = new Router({ prefix: '/items' });
items.get('/', handler);
items.get('/:id', handler);
items.put('/:id', requirePeer({ trustDomain: 'shop.example' }), handler);

// `use('', guard)`, not `use(guard)`: under a prefix, @koa/router 15 matches the latter case-sensitively (see below).
const versioned = new Router({ prefix: '/v1' });
versioned.get('/public', handler);
versioned.use('', trusted());
versioned.get('/private', handler);
versioned.use('/shop', items.routes());
versioned.all('/any', handler);
versioned.get('/dry-run', requirePeer({ trustDomain: 'example.org' }, { mode: 'report' }), handler);

// Router-level guards on paths: a sibling prefix, a literal where the route has a parameter, an optional group.
const scoped = new Router();
scoped.use('/users/me', trusted());
scoped.get('/users/:id', handler);
scoped.use('/admin', trusted());
scoped.get('/admin/stats', handler);
scoped.get('/administrator', handler);
scoped.use('/files/:name', trusted());
scoped.get('/files{/:name}', handler);
scoped.get('/late', handler);
scoped.use(trusted());

// An exclusive router runs only the last matching layer: its router-level guard never runs for a route.
const exclusive = new Router({ prefix: '/exclusive', exclusive: true });
exclusive.use(trusted());
exclusive.get('/thing', handler);

// CWE-178: under a prefix, `router.use(guard)` compiles to a case-sensitive /^\/v2(?:\/|$)/ while routes match any
// case, so GET /V2/private skips the guard (and so does a nested router's own `use(guard)` once mounted).
const caseSensitive = new Router({ prefix: '/v2' });
caseSensitive.use(trusted());
caseSensitive.get('/private', handler);
const mounted = new Router();
mounted.use(trusted());
mounted.get('/stats', handler);
caseSensitive.use('/admin', mounted.routes());

let server: Server;
let base: string;
beforeAll(async () => {
  const app = new Koa();
  app.use(versioned.routes()).use(scoped.routes()).use(exclusive.routes()).use(caseSensitive.routes());
  server = createServer(app.callback());
  base = `http://127.0.0.1:${await listen(server)}`;
});
afterAll(async () => {
  await close(server);
});

function summary(routes: readonly RouteDescription[]) {
  return routes.map((route) => ({
    route: `${route.methods.join(',')} ${route.path}`,
    policies: route.policies.map((policy) => `${policy.scope}:${policy.mode}:${policy.policy}`),
    guarded: route.guarded,
    flags: route.flags,
  }));
}

describe('describeRoutes', () => {
  describe('when routers are nested, prefixed and guarded at router level', () => {
    it('resolves full paths and credits only the guards that come before each route', () => {
      const td = 'trustDomain in [example.org]';
      expect(summary(describeRoutes(versioned))).toEqual([
        { route: 'GET /v1/public', policies: [], guarded: false, flags: ['no-policy'] },
        { route: 'GET /v1/private', policies: [`router:enforce:${td}`], guarded: true, flags: [] },
        { route: 'GET /v1/shop/items', policies: [`router:enforce:${td}`], guarded: true, flags: [] },
        { route: 'GET /v1/shop/items/:id', policies: [`router:enforce:${td}`], guarded: true, flags: [] },
        {
          route: 'PUT /v1/shop/items/:id',
          policies: [`router:enforce:${td}`, 'route:enforce:trustDomain in [shop.example]'],
          guarded: true,
          flags: [],
        },
        { route: 'ALL /v1/any', policies: [`router:enforce:${td}`], guarded: true, flags: [] },
        {
          route: 'GET /v1/dry-run',
          policies: [`router:enforce:${td}`, `route:report:${td}`],
          guarded: true,
          flags: [],
        },
      ]);
    });

    it('never credits a path-scoped guard that misses some requests of a route', () => {
      expect(summary(describeRoutes(scoped))).toEqual([
        { route: 'GET /users/:id', policies: [], guarded: false, flags: ['no-policy', 'partial-policy'] },
        {
          route: 'GET /admin/stats',
          policies: ['router:enforce:trustDomain in [example.org]'],
          guarded: true,
          flags: [],
        },
        { route: 'GET /administrator', policies: [], guarded: false, flags: ['no-policy'] },
        { route: 'GET /files{/:name}', policies: [], guarded: false, flags: ['no-policy', 'partial-policy'] },
        { route: 'GET /late', policies: [], guarded: false, flags: ['no-policy'] },
      ]);
    });

    it('does not credit a prefixed router.use(guard) that upper-case paths skip (CWE-178)', () => {
      const td = 'router:enforce:trustDomain in [example.org]';
      const routes = describeRoutes(caseSensitive);
      expect(summary(routes)).toEqual([
        { route: 'GET /v2/private', policies: [], guarded: false, flags: ['no-policy', 'partial-policy'] },
        { route: 'GET /v2/admin/stats', policies: [], guarded: false, flags: ['no-policy', 'partial-policy'] },
      ]);
      expect(routes[1]?.partialPolicies.map((policy) => `${policy.scope}:${policy.mode}:${policy.policy}`)).toEqual([
        td,
        td,
      ]);
    });

    it('does not count router-level guards of an exclusive router', () => {
      expect(summary(describeRoutes(exclusive))).toEqual([
        { route: 'GET /exclusive/thing', policies: [], guarded: false, flags: ['no-policy'] },
      ]);
    });
  });

  describe('when requests without a peer reach the routes (the inventory matches what Koa does)', () => {
    const inventory = [versioned, scoped, exclusive, caseSensitive].flatMap((router) => describeRoutes(router));
    it.each([
      { method: 'GET', url: '/v1/public', route: '/v1/public', status: 200 },
      { method: 'GET', url: '/v1/private', route: '/v1/private', status: 401 },
      { method: 'GET', url: '/v1/shop/items', route: '/v1/shop/items', status: 401 },
      { method: 'GET', url: '/v1/shop/items/7', route: '/v1/shop/items/:id', status: 401 },
      { method: 'PUT', url: '/v1/shop/items/7', route: '/v1/shop/items/:id', status: 401 },
      { method: 'DELETE', url: '/v1/any', route: '/v1/any', status: 401 },
      { method: 'GET', url: '/v1/dry-run', route: '/v1/dry-run', status: 401 },
      { method: 'GET', url: '/users/42', route: '/users/:id', status: 200 },
      { method: 'GET', url: '/users/me', route: '/users/:id', status: 401 },
      { method: 'GET', url: '/admin/stats', route: '/admin/stats', status: 401 },
      { method: 'GET', url: '/administrator', route: '/administrator', status: 200 },
      { method: 'GET', url: '/files', route: '/files{/:name}', status: 200 },
      { method: 'GET', url: '/files/a.txt', route: '/files{/:name}', status: 401 },
      { method: 'GET', url: '/late', route: '/late', status: 200 },
      { method: 'GET', url: '/exclusive/thing', route: '/exclusive/thing', status: 200 },
      { method: 'GET', url: '/V1/PRIVATE', route: '/v1/private', status: 401 },
      { method: 'GET', url: '/V1/Shop/Items/7', route: '/v1/shop/items/:id', status: 401 },
      { method: 'GET', url: '/v2/private', route: '/v2/private', status: 401 },
      { method: 'GET', url: '/V2/private', route: '/v2/private', status: 200 },
      { method: 'GET', url: '/v2/admin/stats', route: '/v2/admin/stats', status: 401 },
      { method: 'GET', url: '/V2/admin/stats', route: '/v2/admin/stats', status: 200 },
    ])('$method $url → $status', async ({ method, url, route, status }) => {
      const described = inventory.find((entry) => entry.path === route);
      expect(described).toBeDefined();
      handled.length = 0;
      const response = await fetch(`${base}${url}`, { method });
      expect(response.status).toBe(status);
      if (status === 401) {
        expect(await response.text()).toBe('Client certificate required');
        expect(handled).toEqual([]);
      } else {
        expect(handled).toEqual([`${method} ${url}`]);
      }
      // A route the inventory calls guarded never lets an anonymous request reach its handler.
      if (described?.guarded === true) expect(status).toBe(401);
    });
  });

  describe('when the target is a Koa app', () => {
    it('credits middleware added with app.use() before a router, and only before it', () => {
      const first = new Router();
      first.get('/a', handler);
      const second = new Router();
      second.get('/b', handler);
      const app = new Koa();
      app.use(first.routes());
      app.use(requirePeer({ trustDomain: 'example.org' }));
      app.use(second.routes());
      expect(summary(describeRoutes(app))).toEqual([
        { route: 'GET /a', policies: [], guarded: false, flags: ['no-policy'] },
        { route: 'GET /b', policies: ['app:enforce:trustDomain in [example.org]'], guarded: true, flags: [] },
      ]);
    });
  });

  describe('when routes touch the filesystem', () => {
    it('reports each sandbox with its root and symlink mode, and flags those without an enforcing policy', async () => {
      const files = await createSandbox(filesRoot, { symlinks: 'none' });
      const fromParam = { sandbox: files, from: (ctx: Context) => ctx.params.name };
      const router = new Router();
      router.get('/open/:name', sandboxPath(fromParam), handler);
      router.get('/report/:name', requirePeer({ anyPeer: true }, { mode: 'report' }), sandboxPath(fromParam), handler);
      router.get('/early/:name', sandboxPath(fromParam), requirePeer({ anyPeer: true }), handler);
      router.get('/good/:name', requirePeer({ anyPeer: true }), sandboxPath(fromParam), handler);
      const routes = describeRoutes(router);
      expect(routes.map((route) => [route.path, route.flags])).toEqual([
        ['/open/:name', ['no-policy', 'sandbox-without-policy']],
        ['/report/:name', ['report-only', 'sandbox-without-policy']],
        ['/early/:name', ['sandbox-before-policy']],
        ['/good/:name', []],
      ]);
      expect(routes[3]?.sandboxes).toEqual([
        { root: filesRoot, symlinks: 'none', mode: 'fd-walk', allow: null, deny: [], scope: 'route' },
      ]);
      await files.close();
    });
  });

  describe('when a route is unusual', () => {
    it('flags a policy that accepts proxy-claimed identities', () => {
      const router = new Router();
      router.get('/claimed', requirePeer({ anyPeer: true }, { allowProxyClaimed: true }), handler);
      expect(describeRoutes(router)[0]?.flags).toEqual(['proxy-claimed']);
    });

    it('describes a RegExp route by its source and credits it no router-level guard', () => {
      const router = new Router();
      router.use(trusted());
      router.get(/^\/legacy\/\d+$/, handler);
      expect(describeRoutes(router)).toEqual([
        expect.objectContaining({ path: '^\\/legacy\\/\\d+$', pathKind: 'regexp', guarded: false }),
      ]);
    });

    it('keeps the route name and returns frozen descriptions', () => {
      const router = new Router();
      router.get('item', '/items/:id', requirePeer({ anyPeer: true }), handler);
      const routes = describeRoutes(router);
      expect(routes[0]).toMatchObject({ name: 'item', methods: ['GET'], path: '/items/:id' });
      expect(Object.isFrozen(routes)).toBe(true);
      expect(Object.isFrozen(routes[0])).toBe(true);
      expect(Object.isFrozen(routes[0]?.policies[0])).toBe(true);
    });
  });

  describe('when the target is not a router', () => {
    it.each([
      { name: 'undefined', target: undefined },
      { name: 'a string', target: '/v1' },
      { name: 'a plain object', target: {} },
      { name: 'a router-like object without routes()', target: { stack: [], opts: {} } },
      { name: 'a router with a malformed layer', target: { stack: [{ path: '/x' }], opts: {}, routes: () => {} } },
      { name: 'a dispatch middleware instead of the router', target: versioned.routes() },
    ])('throws InvalidOptionError for $name', ({ target }) => {
      expect(() => describeRoutes(target)).toThrow(InvalidOptionError);
      expect(() => describeRoutes(target)).toThrow('"router" must be a @koa/router (v13 or later) router or a Koa app');
    });
  });
});
