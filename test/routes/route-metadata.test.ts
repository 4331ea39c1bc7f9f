import { describe, expect, it } from 'vitest';
import { allowAnonymous } from '../../src/anonymous/allow-anonymous.js';
import { requirePeer } from '../../src/authz/require-peer.js';
import { attachRouteMetadata, ROUTE_METADATA, routeMetadataOf } from '../../src/routes/route-metadata.js';

describe('route metadata: one registered symbol, one getter, a tagged union', () => {
  it('is attached frozen and non-enumerable under Symbol.for("koa-mtls.route"), so another copy reads it', () => {
    const guard = attachRouteMetadata(() => undefined, { kind: 'allowAnonymous' });
    expect(ROUTE_METADATA).toBe(Symbol.for('koa-mtls.route'));
    const descriptor = Object.getOwnPropertyDescriptor(guard, ROUTE_METADATA);
    expect(descriptor?.enumerable).toBe(false);
    expect(Object.isFrozen(descriptor?.value)).toBe(true);
    expect(Object.keys(guard)).toEqual([]);
  });

  it('tells each guard apart by kind', () => {
    expect(routeMetadataOf(allowAnonymous())).toEqual({ kind: 'allowAnonymous' });
    expect(routeMetadataOf(requirePeer({ anyPeer: true }))?.kind).toBe('requirePeer');
  });

  it('filters by kind: a guard of another kind reads as undefined', () => {
    const guard = requirePeer({ trustDomain: 'example.org' });
    expect(routeMetadataOf(guard, 'requirePeer')?.description).toBe('trustDomain in [example.org]');
    expect(routeMetadataOf(guard, 'sandboxPath')).toBeUndefined();
    expect(routeMetadataOf(guard, 'allowAnonymous')).toBeUndefined();
  });

  it.each([
    ['a plain middleware', () => undefined],
    ['a non-function', { [Symbol.for('koa-mtls.route')]: { kind: 'requirePeer' } }],
    ['metadata that is not an object', Object.assign(() => undefined, { [Symbol.for('koa-mtls.route')]: true })],
    [
      'metadata of an unknown kind',
      Object.assign(() => undefined, { [Symbol.for('koa-mtls.route')]: { kind: 'somethingElse' } }),
    ],
    ['a marker under an older symbol', Object.assign(() => undefined, { [Symbol.for('koa-mtls.anonymous')]: true })],
  ])('reads nothing from %s', (_case, value) => {
    expect(routeMetadataOf(value)).toBeUndefined();
  });
});
