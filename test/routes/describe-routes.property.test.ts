import Router from '@koa/router';
import fc from 'fast-check';
import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { requirePeer } from '../../src/authz/require-peer.js';
import { KoaMtlsError } from '../../src/errors.js';
import { describeRoutes } from '../../src/routes/describe-routes.js';

// Literals double as parameter values, so a guard on `/admin` meets a route on `/:p0` requested as `/admin`.
const LITERALS = ['a', 'admin', 'me'] as const;

const routeSpec = fc.record({
  segments: fc.array(fc.oneof(fc.constantFrom(...LITERALS), fc.constant(':')), { minLength: 1, maxLength: 3 }),
  optional: fc.boolean(),
});
const guardSpec = fc.option(fc.array(fc.oneof(fc.constantFrom(...LITERALS), fc.constant(':')), { maxLength: 2 }), {
  nil: undefined,
});
const steps = fc.array(
  fc.oneof(
    routeSpec.map((route) => ({ kind: 'route' as const, ...route })),
    guardSpec.map((segments) => ({ kind: 'guard' as const, segments })),
  ),
  { minLength: 1, maxLength: 8 },
);
const prefix = fc.constantFrom(undefined, '/v1', '/t/:tenant');

function pattern(segments: readonly string[], name: string): string {
  return segments.map((segment, index) => `/${segment === ':' ? `:${name}${index}` : segment}`).join('');
}

/** A fake Koa context with just what @koa/router and requirePeer read: no peer, GET, a path. */
function fakeContext(path: string): Parameters<ReturnType<Router['routes']>>[0] {
  return { method: 'GET', path, state: {}, request: {}, get: () => '' } as unknown as Parameters<
    ReturnType<Router['routes']>
  >[0];
}

describe('describeRoutes (property)', () => {
  it('never calls a route guarded when an anonymous request can reach its handler', async () => {
    await fc.assert(
      fc.asyncProperty(
        prefix,
        steps,
        fc.array(fc.constantFrom(...LITERALS), { minLength: 8, maxLength: 8 }),
        async (routerPrefix, plan, values) => {
          const router = new Router(routerPrefix === undefined ? {} : { prefix: routerPrefix });
          const ran: number[] = [];
          const concrete: string[][] = [];
          plan.forEach((step, index) => {
            if (step.kind === 'guard') {
              if (step.segments === undefined) router.use(requirePeer({ anyPeer: true }));
              else router.use(pattern(step.segments, 'g') || '/', requirePeer({ anyPeer: true }));
              return;
            }
            const path = `${pattern(step.segments, 'p')}${step.optional ? '{/:opt}' : ''}`;
            router.get(path, (ctx: Context) => {
              ran.push(index);
              ctx.body = 'handler';
            });
            // Requests for this route: parameters take literal values, with and without the optional segment.
            const base = `${routerPrefix?.replace(':tenant', values[7] ?? 'a') ?? ''}${step.segments
              .map((segment, position) => `/${segment === ':' ? values[position] : segment}`)
              .join('')}`;
            // Each also in upper case: routes match any case, a prefixed router.use(guard) does not (CWE-178).
            const spellings = step.optional ? [base, `${base}/${values[5]}`] : [base];
            concrete[index] = [...spellings, ...spellings.map((path) => path.toUpperCase())];
          });
          const routes = describeRoutes(router);
          const guardedRoutes = new Set<number>();
          let routeIndex = 0;
          plan.forEach((step, index) => {
            if (step.kind !== 'route') return;
            if (routes[routeIndex]?.guarded === true) guardedRoutes.add(index);
            routeIndex += 1;
          });
          const dispatch = router.routes();
          for (const [index, requests] of concrete.entries()) {
            for (const path of requests ?? []) {
              ran.length = 0;
              const outcome = await dispatch(fakeContext(path), async () => undefined).then(
                () => 'passed',
                (error: unknown) => (error instanceof KoaMtlsError ? error.status : error),
              );
              // Soundness: a route reported as guarded never runs its handler for a request without a peer.
              if (ran.includes(index)) expect(guardedRoutes.has(index), `${path} reached route ${index}`).toBe(false);
              if (outcome !== 'passed') expect(outcome).toBe(401);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('describeRoutes (spellings)', () => {
  it('does not credit a case-sensitive guard to a case-insensitive nested route', async () => {
    const inner = new Router();
    let ran = false;
    inner.get('/admin/stats', (ctx: Context) => {
      ran = true;
      ctx.body = 'handler';
    });
    const outer = new Router({ sensitive: true });
    outer.use('/admin', requirePeer({ anyPeer: true }));
    outer.use(inner.routes());
    const [route] = describeRoutes(outer);
    expect(route).toMatchObject({ path: '/admin/stats', guarded: false, flags: ['no-policy', 'partial-policy'] });
    await outer.routes()(fakeContext('/ADMIN/stats'), async () => undefined);
    expect(ran).toBe(true);
  });
});
